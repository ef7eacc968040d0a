import type { SandboxProvider, SandboxRecords } from './providers';
import type {
  ActiveFaults,
  FaultConfig,
  LimitConfig,
  RequestLogEntry,
  SandboxOptionsUpdate,
  SandboxRuntimeOptions,
  SandboxStats,
  WebhookDelivery,
  WebhookOptions,
} from './sandbox.types';
import type {
  HcpLifecycleResult,
  HousecallProAction,
  HousecallProCompanyRegistration,
  HousecallProRecords,
} from './housecallpro/types';
import type {
  JobberAccountView,
  JobberAction,
  JobberApp,
  JobberAppRegistration,
  JobberLifecycleResult,
  JobberRecords,
  JobberSettings,
  JobberSettingsUpdate,
} from './jobber/types';
import type {
  ServiceTitanAction,
  ServiceTitanRecords,
  ServiceTitanTenantRegistration,
  StLifecycleResult,
} from './servicetitan/types';

export type * from './sandbox.types';
export type * from './servicetitan/types';
export type * from './housecallpro/types';
export type * from './jobber/types';
export type { SandboxProvider, SandboxRecords } from './providers';

export class SandboxControlError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    message: string,
  ) {
    super(message);
    this.name = 'SandboxControlError';
  }
}

/** Typed client for the sandbox control API (/_sandbox); used by tests and benchmarks. */
export class SandboxControl {
  private readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  /** Drops all records, accounts, faults, limits and stats, and restores the start options. */
  reset(): Promise<{ ok: true }> {
    return this.call('POST', '/reset');
  }

  getOptions(): Promise<SandboxRuntimeOptions> {
    return this.call('GET', '/options');
  }

  setOptions(update: SandboxOptionsUpdate): Promise<SandboxRuntimeOptions> {
    return this.call('PUT', '/options', update);
  }

  registerServiceTitanTenant(
    tenant: ServiceTitanTenantRegistration,
  ): Promise<{ tenantId: string; clientId: string; bookingProviderId: string }> {
    return this.call('POST', '/servicetitan/tenants', tenant);
  }

  /** keyId is what stats, the request log and records show for this key (never the key itself). */
  registerHousecallProCompany(
    company: HousecallProCompanyRegistration,
  ): Promise<{ apiKey: string; keyId: string; companyId: string }> {
    return this.call('POST', '/housecallpro/companies', company);
  }

  /** Adds `count` old finished jobs to a Housecall Pro company (its history), stamped `updatedAt` (30 days ago). */
  addHousecallProHistory(apiKey: string, count: number, updatedAt?: string): Promise<{ keyId: string; jobs: number }> {
    return this.call('POST', '/housecallpro/history', { apiKey, count, updatedAt });
  }

  records(provider?: SandboxProvider): Promise<SandboxRecords> {
    return this.call('GET', `/records${provider ? `?provider=${provider}` : ''}`);
  }

  async serviceTitanRecords(): Promise<ServiceTitanRecords> {
    return (await this.records('servicetitan')).servicetitan as ServiceTitanRecords;
  }

  async housecallProRecords(): Promise<HousecallProRecords> {
    return (await this.records('housecallpro')).housecallpro as HousecallProRecords;
  }

  stats(): Promise<SandboxStats> {
    return this.call('GET', '/stats');
  }

  /** Clears request counters and the request log, keeping records. */
  resetStats(): Promise<SandboxStats> {
    return this.call('DELETE', '/stats');
  }

  /** Most recent last. */
  async requests(query: { provider?: SandboxProvider; limit?: number } = {}): Promise<RequestLogEntry[]> {
    const params = new URLSearchParams();
    if (query.provider) params.set('provider', query.provider);
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    const qs = params.toString();
    return (await this.call<{ requests: RequestLogEntry[] }>('GET', `/requests${qs ? `?${qs}` : ''}`)).requests;
  }

  serviceTitanBookingAction(
    bookingId: number | string,
    action: ServiceTitanAction,
    totalCents?: number,
  ): Promise<StLifecycleResult> {
    const path = `/servicetitan/bookings/${encodeURIComponent(String(bookingId))}/${action}`;
    return this.call('POST', path, totalCents === undefined ? {} : { totalCents });
  }

  convertBooking(bookingId: number | string): Promise<StLifecycleResult> {
    return this.serviceTitanBookingAction(bookingId, 'convert');
  }

  scheduleBooking(bookingId: number | string): Promise<StLifecycleResult> {
    return this.serviceTitanBookingAction(bookingId, 'schedule');
  }

  startBooking(bookingId: number | string): Promise<StLifecycleResult> {
    return this.serviceTitanBookingAction(bookingId, 'start');
  }

  holdBooking(bookingId: number | string): Promise<StLifecycleResult> {
    return this.serviceTitanBookingAction(bookingId, 'hold');
  }

  completeBooking(bookingId: number | string, totalCents?: number): Promise<StLifecycleResult> {
    return this.serviceTitanBookingAction(bookingId, 'complete', totalCents);
  }

  cancelBooking(bookingId: number | string): Promise<StLifecycleResult> {
    return this.serviceTitanBookingAction(bookingId, 'cancel');
  }

  dismissBooking(bookingId: number | string): Promise<StLifecycleResult> {
    return this.serviceTitanBookingAction(bookingId, 'dismiss');
  }

  housecallProJobAction(jobId: string, action: HousecallProAction, totalCents?: number): Promise<HcpLifecycleResult> {
    const path = `/housecallpro/jobs/${encodeURIComponent(jobId)}/${action}`;
    return this.call('POST', path, totalCents === undefined ? {} : { totalCents });
  }

  scheduleHcpJob(jobId: string): Promise<HcpLifecycleResult> {
    return this.housecallProJobAction(jobId, 'schedule');
  }

  startHcpJob(jobId: string): Promise<HcpLifecycleResult> {
    return this.housecallProJobAction(jobId, 'start');
  }

  completeHcpJob(jobId: string, totalCents?: number): Promise<HcpLifecycleResult> {
    return this.housecallProJobAction(jobId, 'complete', totalCents);
  }

  cancelHcpJob(jobId: string): Promise<HcpLifecycleResult> {
    return this.housecallProJobAction(jobId, 'cancel');
  }

  // ---- Jobber ----

  async jobberRecords(): Promise<JobberRecords> {
    return (await this.records('jobber')).jobber as JobberRecords;
  }

  getJobberSettings(): Promise<JobberSettings> {
    return this.call('GET', '/jobber/settings');
  }

  /** Token lifetimes, the cost bucket, and how the authorize page answers (approve/deny, which account). */
  setJobberSettings(update: JobberSettingsUpdate): Promise<JobberSettings> {
    return this.call('PUT', '/jobber/settings', update);
  }

  /** Registers (or re-keys) an OAuth app; the sandbox starts with sandbox-jobber-client-id / -secret. */
  registerJobberApp(app: JobberAppRegistration): Promise<JobberApp> {
    return this.call('POST', '/jobber/apps', app);
  }

  createJobberAccount(account: { name?: string } = {}): Promise<JobberAccountView> {
    return this.call('POST', '/jobber/accounts', account);
  }

  jobberAccounts(): Promise<JobberAccountView[]> {
    return this.call('GET', '/jobber/accounts');
  }

  /** Refresh counts, refresh-token reuses and the cost bucket of one account. */
  jobberAccount(accountId: string): Promise<JobberAccountView> {
    return this.call('GET', `/jobber/accounts/${encodeURIComponent(accountId)}`);
  }

  /** Every access token of the account stops working now. */
  expireJobberTokens(accountId: string): Promise<{ expired: number }> {
    return this.call('POST', `/jobber/accounts/${encodeURIComponent(accountId)}/expire-tokens`);
  }

  /** Revokes every grant (refresh and access tokens) of the account, as an app disconnect. */
  disconnectJobberAccount(accountId: string): Promise<{ revokedGrants: string[] }> {
    return this.call('POST', `/jobber/accounts/${encodeURIComponent(accountId)}/disconnect`);
  }

  /** The account's next `count` mutations answer userErrors with this message. */
  jobberUserErrors(accountId: string, options: { message?: string; count?: number } = {}): Promise<JobberAccountView> {
    return this.call('POST', `/jobber/accounts/${encodeURIComponent(accountId)}/user-errors`, options);
  }

  jobberRequestAction(requestId: string, action: JobberAction, totalCents?: number): Promise<JobberLifecycleResult> {
    const path = `/jobber/requests/${encodeURIComponent(requestId)}/${action}`;
    return this.call('POST', path, totalCents === undefined ? {} : { totalCents });
  }

  // ---- Webhooks the sandbox sends ----

  /** Webhooks of this tenant's changes go to url (null: none). */
  setServiceTitanWebhook(
    tenantId: string | number,
    url: string | null,
  ): Promise<{ tenantId: string; url: string | null }> {
    return this.call('PUT', '/servicetitan/webhooks', { tenantId, url });
  }

  /** Webhooks of this company's changes go to url (null: none); registers the api key if unknown. */
  setHousecallProWebhook(
    apiKey: string,
    url: string | null,
  ): Promise<{ keyId: string; companyId: string; url: string | null }> {
    return this.call('PUT', '/housecallpro/webhooks', { apiKey, url });
  }

  /** The app-level webhook URL of a Jobber app (default the sandbox app); events of every account it is installed on. */
  setJobberWebhook(
    url: string | null,
    clientId?: string,
  ): Promise<{ clientId: string; appId: string; webhookUrl: string | null }> {
    return this.call('PUT', '/jobber/webhooks', { url, ...(clientId === undefined ? {} : { clientId }) });
  }

  getWebhookOptions(): Promise<WebhookOptions> {
    return this.call('GET', '/webhooks/options');
  }

  /** duplicates: every webhook is sent twice; timeoutMs: how long a delivery waits for the receiver. */
  setWebhookOptions(options: Partial<WebhookOptions>): Promise<WebhookOptions> {
    return this.call('PUT', '/webhooks/options', options);
  }

  /** Most recent last. */
  async webhookDeliveries(query: { provider?: SandboxProvider; limit?: number } = {}): Promise<WebhookDelivery[]> {
    const params = new URLSearchParams();
    if (query.provider) params.set('provider', query.provider);
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    const qs = params.toString();
    const path = `/webhooks/deliveries${qs ? `?${qs}` : ''}`;
    return (await this.call<{ deliveries: WebhookDelivery[] }>('GET', path)).deliveries;
  }

  clearWebhookDeliveries(): Promise<unknown> {
    return this.call('DELETE', '/webhooks/deliveries');
  }

  /** Empty object when no faults are set. */
  getFaults(provider: SandboxProvider): Promise<ActiveFaults | Record<string, never>> {
    return this.call('GET', `/faults/${provider}`);
  }

  setFaults(provider: SandboxProvider, faults: FaultConfig): Promise<ActiveFaults> {
    return this.call('PUT', `/faults/${provider}`, faults);
  }

  clearFaults(provider: SandboxProvider): Promise<unknown> {
    return this.call('DELETE', `/faults/${provider}`);
  }

  /** Empty object when no limits are set. */
  getLimits(provider: SandboxProvider): Promise<LimitConfig> {
    return this.call('GET', `/limits/${provider}`);
  }

  setLimits(provider: SandboxProvider, limits: LimitConfig): Promise<LimitConfig> {
    return this.call('PUT', `/limits/${provider}`, limits);
  }

  clearLimits(provider: SandboxProvider): Promise<unknown> {
    return this.call('DELETE', `/limits/${provider}`);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.baseUrl}/_sandbox${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const parsed: unknown = text ? JSON.parse(text) : undefined;
    if (!res.ok) {
      const message = (parsed as { error?: string } | undefined)?.error ?? text;
      const summary = `sandbox control ${method} ${path} failed: ${res.status} ${message}`;
      throw new SandboxControlError(res.status, parsed, summary);
    }
    return parsed as T;
  }
}
