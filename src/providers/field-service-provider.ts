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

/** A record's status as a provider's change feed reports it, keyed by externalId (no routing known yet). */
export type RecordStatus = Omit<ReferralStatus, 'routingId'>;

/** What a provider's change feed returned for one connection (see FieldServiceProvider.readChanges). */
export interface ChangedRecords {
  /** Records changed since the cursor (at least), by externalId. */
  changes: Map<string, RecordStatus>;
  /**
   * true when every record changed since the cursor is in `changes`, so a record left out is unchanged. false on a
   * first read (no cursor) or when the feed ran past its request budget (the cursor is lost): then a record left out
   * must be read by id.
   */
  complete: boolean;
  /** Where the next read starts (opaque, stored per connection); null when the provider cannot tell yet. */
  cursor: string | null;
}

/**
 * Called around every HTTP request a client makes, so the provider gateway can apply the shared per-connection
 * rate limit, count requests, carry the request id and know whether a create was sent, without the clients
 * knowing about Redis or metrics.
 */
export interface ProviderCallHooks {
  /**
   * Resolves when the request may be sent: waits for a rate-limit slot, and for `cost` points of the connection's
   * query budget where the provider meters one (Jobber).
   */
  beforeRequest?(request: { createsRecord: boolean; cost?: number }): Promise<void>;
  afterResponse?(info: {
    status: number | 'network_error' | 'timeout';
    durationMs: number;
    retryAfterMs?: number;
  }): void;
  /** The query budget the provider reported with its answer. */
  reportBudget?(budget: QueryBudget): void;
  requestId?: string;
}

/** A leaky-bucket query budget as a provider reports it (Jobber's `extensions.cost.throttleStatus`). */
export interface QueryBudget {
  available: number;
  maximum: number;
  /** Points restored per second. */
  restoreRate: number;
}

/** Where a connection's credentials are kept, for providers whose credentials change (rotating OAuth tokens). */
export interface CredentialsStore<Credentials> {
  /**
   * `change` gets the latest stored credentials (another process may have changed them meanwhile) and returns what
   * to store; one change per connection runs at a time across all processes, and what it returns is committed
   * before the promise resolves.
   */
  replace(change: (latest: Credentials) => Promise<Credentials>): Promise<Credentials>;
}

/** What an OAuth connect yields: the credentials to store and the provider's own account. */
export interface ConnectedAccount<Credentials> {
  credentials: Credentials;
  externalAccountId: string;
  accountName: string;
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
    credentialsStore?: CredentialsStore<Credentials>;
    referral: Referral;
    mayAlreadyExist: boolean;
    hooks?: ProviderCallHooks;
  }): Promise<CreatedReferral>;
  /** Batch status read for routings of one provider account. Unknown records are left out of the result. */
  getStatuses(params: {
    credentials: Credentials;
    credentialsStore?: CredentialsStore<Credentials>;
    queries: StatusQuery[];
    hooks?: ProviderCallHooks;
  }): Promise<ReferralStatus[]>;
  /**
   * Optional change feed, for providers without an ids filter (Housecall Pro): the records of this account changed
   * since `cursor`, read once per poll of a connection, so polling costs what changed rather than what exists. At
   * most `maxRequests` requests: past that, reads by id are cheaper and the result is incomplete.
   */
  readChanges?(params: {
    credentials: Credentials;
    credentialsStore?: CredentialsStore<Credentials>;
    cursor: string | null;
    maxRequests: number;
    hooks?: ProviderCallHooks;
  }): Promise<ChangedRecords>;
  /**
   * For webhooks about a record other than the one a routing tracks (a job, a visit, an invoice): the externalId of
   * the tracked record each item belongs to, in order, or null when it belongs to none. Providers whose webhooks
   * always name the tracked record leave it out.
   */
  findReferralIds?(params: {
    credentials: Credentials;
    credentialsStore?: CredentialsStore<Credentials>;
    items: WebhookItem[];
    hooks?: ProviderCallHooks;
  }): Promise<(string | null)[]>;
  /** OAuth providers (`connect: 'oauth'`): where the company's admin approves the app. */
  authorizeUrl?(params: { state: string; redirectUri: string }): string;
  /** OAuth providers: exchanges an authorization code for the credentials to store, and names the account. */
  connectAccount?(params: {
    code: string;
    redirectUri: string;
    hooks?: ProviderCallHooks;
  }): Promise<ConnectedAccount<Credentials>>;
}
