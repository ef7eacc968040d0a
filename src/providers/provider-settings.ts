/** Provider endpoints and limits; the app's config module provides them globally under PROVIDER_SETTINGS. */
export interface ProviderSettings {
  serviceTitanAuthUrl: string;
  serviceTitanApiUrl: string;
  serviceTitanAppKey: string;
  housecallProApiUrl: string;
  requestTimeoutMs: number;
}

export const PROVIDER_SETTINGS = Symbol('PROVIDER_SETTINGS');
