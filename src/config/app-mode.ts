export const APP_MODES = ['api', 'worker', 'all'] as const;
export type AppMode = (typeof APP_MODES)[number];

export const runsApi = (mode: AppMode): boolean => mode === 'api' || mode === 'all';
export const runsWorker = (mode: AppMode): boolean => mode === 'worker' || mode === 'all';
