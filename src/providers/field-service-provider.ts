import type { WebhookItem } from './provider-definition';

/** Provider type names come from the provider definitions (provider-catalog.ts), never from a list here. */
export type ProviderType = string;

/** Our provider-neutral view of where a referral stands at the partner. */
export const PROVIDER_STATUSES = ['received', 'scheduled', 'in_progress', 'on_hold', 'completed', 'canceled'] as const;
export type ProviderStatus = (typeof PROVIDER_STATUSES)[number];

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
 * Called around every HTTP request a client makes, so the provider gateway can apply the shared per-connection
 * rate limit, count requests, carry the request id and know whether a create was sent, without the clients
 * knowing about Redis or metrics.
 */
export interface ProviderCallHooks {
  /** Resolves when the request may be sent (waits for a rate-limit slot). */
  beforeRequest?(request: { createsRecord: boolean }): Promise<void>;
  afterResponse?(info: {
    status: number | 'network_error' | 'timeout';
    durationMs: number;
    retryAfterMs?: number;
  }): void;
  requestId?: string;
}

/**
 * One strategy per provider, looked up by type in the ProviderRegistry. Credentials arrive parsed by the
 * provider definition's schema.
 */
export interface FieldServiceProvider<Credentials extends object = object> {
  /**
   * Creates the partner's record for this routing. Idempotent when `mayAlreadyExist`: an earlier attempt may
   * have created the record (then timed out or crashed), so it is looked up before any create. The request that
   * creates the record is sent with `createsRecord: true` (see ProviderCallHooks).
   */
  createReferral(params: {
    credentials: Credentials;
    referral: Referral;
    mayAlreadyExist: boolean;
    hooks?: ProviderCallHooks;
  }): Promise<CreatedReferral>;
  /** Batch status read for routings of one provider account. Unknown records are left out of the result. */
  getStatuses(params: {
    credentials: Credentials;
    queries: StatusQuery[];
    hooks?: ProviderCallHooks;
  }): Promise<ReferralStatus[]>;
  /**
   * For webhooks about a record other than the one a routing tracks (a job, a visit, an invoice): the externalId of
   * the tracked record each item belongs to, in order, or null when it belongs to none. Providers whose webhooks
   * always name the tracked record leave it out.
   */
  findReferralIds?(params: {
    credentials: Credentials;
    items: WebhookItem[];
    hooks?: ProviderCallHooks;
  }): Promise<(string | null)[]>;
}
