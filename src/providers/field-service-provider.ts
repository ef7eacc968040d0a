export const PROVIDER_TYPES = ['servicetitan', 'housecallpro'] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

/** Our provider-neutral view of where a referral stands at the partner. */
export const PROVIDER_STATUSES = ['received', 'scheduled', 'in_progress', 'on_hold', 'completed', 'canceled'] as const;
export type ProviderStatus = (typeof PROVIDER_STATUSES)[number];

export interface ServiceTitanCredentials {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  bookingProviderId: string;
}

export interface HousecallProCredentials {
  apiKey: string;
}

export type ProviderCredentials = ServiceTitanCredentials | HousecallProCredentials;

/** What we send to a partner: one routing of one referral job. */
export interface Referral {
  routingId: string;
  jobId: string;
  referringCompanyName: string;
  homeowner: { firstName: string; lastName: string; phone?: string | null; email?: string | null };
  address: { street: string; unit?: string | null; city: string; state: string; zip: string; country: string };
  summary: string;
  trade?: string | null;
}

export interface CreatedReferral {
  /** The provider's id for the record we track (ServiceTitan booking id, Housecall Pro job id). */
  externalId: string;
  /** false when an earlier attempt had already created it and we found it again. */
  created: boolean;
}

export interface StatusQuery {
  routingId: string;
  externalId: string;
}

export interface ReferralStatus {
  routingId: string;
  externalId: string;
  status: ProviderStatus;
  rawStatus: string;
  completedAt: Date | null;
  revenueCents: number | null;
}

/**
 * Called around every HTTP request a client makes, so the caller can apply the shared
 * per-account rate limit, count requests and carry the request id, without the clients
 * knowing about Redis or metrics.
 */
export interface ProviderCallHooks {
  /** Resolves when the request may be sent (waits for a rate-limit slot). */
  beforeRequest?(): Promise<void>;
  afterResponse?(info: {
    status: number | 'network_error' | 'timeout';
    durationMs: number;
    retryAfterMs?: number;
  }): void;
  requestId?: string;
}

/** One strategy per provider; looked up by `type` in the ProviderRegistry. */
export interface FieldServiceProvider {
  readonly type: ProviderType;
  /** Throws an InvalidCredentialsError naming every bad field when credentials do not have this provider's shape. */
  validateCredentials(credentials: unknown): ProviderCredentials;
  /** Idempotent: a retry finds the record an earlier attempt created instead of making a second one. */
  createReferral(params: {
    credentials: ProviderCredentials;
    referral: Referral;
    hooks?: ProviderCallHooks;
  }): Promise<CreatedReferral>;
  /** Batch status read for routings of one provider account. Unknown records are left out of the result. */
  getStatuses(params: {
    credentials: ProviderCredentials;
    queries: StatusQuery[];
    hooks?: ProviderCallHooks;
  }): Promise<ReferralStatus[]>;
}
