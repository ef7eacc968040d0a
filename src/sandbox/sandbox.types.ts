/** Types shared by the sandbox server and its control client (SandboxControl); provider shapes live in each provider's folder. */

export type AutoLifecycleSetting = false | { completeAfterMs: number };

export interface SandboxRuntimeOptions {
  autoRegister: boolean;
  tokenTtlSeconds: number;
  autoLifecycle: AutoLifecycleSetting;
}

export interface SandboxOptionsUpdate {
  autoRegister?: boolean;
  tokenTtlSeconds?: number;
  autoLifecycle?: boolean | { completeAfterMs?: number };
}

export interface FaultConfig {
  /** Share (0..1) of API calls answered with errorStatus. */
  errorRate?: number;
  errorStatus?: number;
  /** When set, injected errors carry this Retry-After (seconds); by default they carry none. */
  errorRetryAfterSeconds?: number;
  /** Share (0..1) of API calls answered with 429 + Retry-After. */
  rateLimitRate?: number;
  retryAfterSeconds?: number;
  latencyMs?: number | { min: number; max: number };
  /** Share (0..1) of creates that store the record and then never answer. */
  timeoutAfterCreateRate?: number;
  /** Makes the fault dice deterministic. */
  seed?: number;
}

/** A fault config as the sandbox applies it, defaults filled in. */
export interface ActiveFaults {
  errorRate: number;
  errorStatus: number;
  errorRetryAfterSeconds: number | null;
  rateLimitRate: number;
  retryAfterSeconds: number;
  latencyMs: { min: number; max: number };
  timeoutAfterCreateRate: number;
  seed: number | null;
}

export interface LimitConfig {
  perSecond?: number;
  perMinute?: number;
  /** Any other sliding window, e.g. Jobber's 2500 requests per 300 s. */
  window?: { requests: number; seconds: number };
}

export interface RouteStats {
  count: number;
  byStatus: Record<string, number>;
}

export interface ProviderStats {
  requests: number;
  tokenRequests: number;
  rateLimited: number;
  byStatus: Record<string, number>;
  byRoute: Record<string, RouteStats>;
  /** Requests per provider account (ServiceTitan tenant id, Housecall Pro api key id, Jobber account id). */
  byAccount: Record<string, number>;
  /**
   * Requests per credential, never a secret: ServiceTitan client id, Housecall Pro api key id, Jobber
   * authorization (grant) id. Tells which connection a call came through.
   */
  byCredential: Record<string, number>;
}

export interface SandboxStats {
  requests: number;
  tokenRequests: number;
  rateLimited: number;
  /** Keyed by provider name: every registered provider is present. */
  providers: Record<string, ProviderStats>;
}

export interface RequestLogEntry {
  seq: number;
  at: string;
  provider: string;
  method: string;
  path: string;
  route: string;
  /** HTTP status, or "no_response" when the sandbox held the request open (timeoutAfterCreate). */
  status: number | 'no_response';
  durationMs: number;
  /** See ProviderStats.byAccount; null when the call did not authenticate. */
  account: string | null;
  /** See ProviderStats.byCredential; null when the call did not authenticate. */
  credential: string | null;
  /** Request headers with credentials masked ("Bearer ***"). */
  headers: Record<string, string>;
}

export interface WebhookOptions {
  /** Send every webhook twice (providers deliver at least once). */
  duplicates: boolean;
  /** A delivery without an answer by then is abandoned and logged as an error. */
  timeoutMs: number;
}

export interface WebhookDelivery {
  seq: number;
  provider: string;
  event: string;
  url: string;
  /** 2 for the duplicate of a `duplicates` delivery. */
  attempt: number;
  at: string;
  /** The receiver's HTTP status; 'pending' until it answers; 'error' for no answer (see error). */
  status: number | 'pending' | 'error';
  error: string | null;
  durationMs: number | null;
}
