export const JOB_STATUSES = ['unrouted', 'open', 'completed', 'canceled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
