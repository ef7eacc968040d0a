import { createHash } from 'node:crypto';

import { Inject, Injectable } from '@nestjs/common';

import { ProviderCallHooks } from '../field-service-provider';
import { ProviderError } from '../provider-error';
import {
  ProviderRequest,
  chunk,
  joinUrl,
  mapWithConcurrency,
  queryString,
  sendProviderRequest,
} from '../provider-http';
import { providerSettingsToken } from '../provider-definition';
import type { ServiceTitanCredentials, ServiceTitanSettings } from '.';
import { StBooking, StCreateBookingRequest, StInvoice, StJob, StPage, StTokenResponse } from './servicetitan.types';

// "Perform lookup by multiple IDs (maximum 50)"; 200 ids gets a 400 (providers.md 1.3).
export const ST_MAX_IDS = 50;
const PAGE_SIZE = 50;
// Guards against a server that keeps answering hasMore=true.
const MAX_PAGES = 200;
// Parallel calls within one batch read; the caller's beforeRequest hook does the real rate limiting.
const CONCURRENCY = 4;
const DEFAULT_TOKEN_TTL_SECONDS = 900;

interface IssuedToken {
  accessToken: string;
  expiresInSeconds: number;
}

/**
 * Access tokens per tenant + client id (+ a hash of the secret, so a changed secret never reuses a
 * token issued for the old one). A token is renewed a little before it expires: 60 s early, or 10%
 * of its lifetime when that is shorter. Concurrent callers share one in-flight token request,
 * because ServiceTitan throttles its token endpoint (providers.md 1.1).
 */
export class ServiceTitanTokenCache {
  private readonly tokens = new Map<string, { accessToken: string; refreshAt: number }>();
  private readonly pending = new Map<string, Promise<string>>();

  constructor(private readonly now: () => number = Date.now) {}

  static keyFor(credentials: ServiceTitanCredentials): string {
    const secret = createHash('sha256').update(credentials.clientSecret).digest('hex').slice(0, 16);
    return `${credentials.tenantId}:${credentials.clientId}:${secret}`;
  }

  get(key: string, issue: () => Promise<IssuedToken>): Promise<string> {
    const cached = this.tokens.get(key);
    if (cached && this.now() < cached.refreshAt) return Promise.resolve(cached.accessToken);
    const pending = this.pending.get(key);
    if (pending) return pending;

    const requestedAt = this.now();
    const promise = issue().then((token) => {
      const ttlMs = Math.max(0, token.expiresInSeconds * 1000);
      const margin = Math.min(60_000, ttlMs * 0.1);
      this.tokens.set(key, { accessToken: token.accessToken, refreshAt: requestedAt + ttlMs - margin });
      return token.accessToken;
    });
    this.pending.set(key, promise);
    const clear = () => {
      if (this.pending.get(key) === promise) this.pending.delete(key);
    };
    promise.then(clear, clear);
    return promise;
  }

  /** Drops the token a 401 rejected, unless a newer one has replaced it already. */
  invalidate(key: string, accessToken: string): void {
    if (this.tokens.get(key)?.accessToken === accessToken) this.tokens.delete(key);
  }
}

/** Raw HTTP for ServiceTitan: auth, tenant paths, ids chunking and pagination. */
@Injectable()
export class ServiceTitanClient {
  private readonly tokens = new ServiceTitanTokenCache();

  constructor(@Inject(providerSettingsToken('servicetitan')) private readonly settings: ServiceTitanSettings) {}

  async findBookingByExternalId(params: {
    credentials: ServiceTitanCredentials;
    externalId: string;
    hooks?: ProviderCallHooks;
  }): Promise<StBooking | null> {
    const { credentials, externalId, hooks } = params;
    const page = await this.api<StPage<StBooking>>(credentials, hooks, {
      method: 'GET',
      path: `${bookingsPath(credentials)}?${query({ externalId, pageSize: PAGE_SIZE })}`,
    });
    // ServiceTitan ignores unknown or misspelt filters and answers with an unfiltered page
    // (providers.md 1.3), so only an exact externalId match counts.
    return page.data.find((booking) => booking.externalId === externalId) ?? null;
  }

  createBooking(params: {
    credentials: ServiceTitanCredentials;
    booking: StCreateBookingRequest;
    hooks?: ProviderCallHooks;
  }): Promise<StBooking> {
    return this.api<StBooking>(params.credentials, params.hooks, {
      method: 'POST',
      path: bookingsPath(params.credentials),
      json: params.booking,
      createsRecord: true,
    });
  }

  getBookingsByIds(params: {
    credentials: ServiceTitanCredentials;
    ids: string[];
    hooks?: ProviderCallHooks;
  }): Promise<StBooking[]> {
    return this.listByIds<StBooking>({ ...params, path: bookingsPath(params.credentials) });
  }

  getJobsByIds(params: {
    credentials: ServiceTitanCredentials;
    ids: string[];
    hooks?: ProviderCallHooks;
  }): Promise<StJob[]> {
    return this.listByIds<StJob>({ ...params, path: `/jpm/v2/tenant/${params.credentials.tenantId}/jobs` });
  }

  /** Invoices by id, 50 per call (the `ids` filter of the invoice list, providers.md 1.3). */
  getInvoicesByIds(params: {
    credentials: ServiceTitanCredentials;
    ids: string[];
    hooks?: ProviderCallHooks;
  }): Promise<StInvoice[]> {
    return this.listByIds<StInvoice>({
      ...params,
      path: `/accounting/v2/tenant/${params.credentials.tenantId}/invoices`,
    });
  }

  async getInvoicesForJob(params: {
    credentials: ServiceTitanCredentials;
    jobId: string;
    hooks?: ProviderCallHooks;
  }): Promise<StInvoice[]> {
    const { credentials, jobId, hooks } = params;
    const invoices = await this.listAll<StInvoice>(
      credentials,
      hooks,
      `/accounting/v2/tenant/${credentials.tenantId}/invoices`,
      { jobId },
    );
    return invoices.filter((invoice) => !invoice.job || String(invoice.job.id) === jobId);
  }

  private async listByIds<T extends { id: number | string }>(params: {
    credentials: ServiceTitanCredentials;
    ids: string[];
    path: string;
    hooks?: ProviderCallHooks;
  }): Promise<T[]> {
    const ids = [...new Set(params.ids)];
    const wanted = new Set(ids);
    const pages = await mapWithConcurrency(chunk(ids, ST_MAX_IDS), CONCURRENCY, (group) =>
      this.listAll<T>(params.credentials, params.hooks, params.path, { ids: group.join(',') }),
    );
    // Filter defensively: an ignored `ids` filter would otherwise leak unrelated records.
    return pages.flat().filter((record) => wanted.has(String(record.id)));
  }

  /** Reads every page of a list endpoint, following `hasMore`. */
  private async listAll<T>(
    credentials: ServiceTitanCredentials,
    hooks: ProviderCallHooks | undefined,
    path: string,
    filters: Record<string, string>,
  ): Promise<T[]> {
    const records: T[] = [];
    for (let page = 1; page <= MAX_PAGES; page++) {
      const result = await this.api<StPage<T>>(credentials, hooks, {
        method: 'GET',
        path: `${path}?${query({ ...filters, page, pageSize: PAGE_SIZE })}`,
      });
      const data = Array.isArray(result?.data) ? result.data : [];
      records.push(...data);
      if (!result?.hasMore || data.length === 0) break;
    }
    return records;
  }

  /** One API call with a cached token; a 401 drops the token and retries once with a new one. */
  private async api<T>(
    credentials: ServiceTitanCredentials,
    hooks: ProviderCallHooks | undefined,
    request: { method: ProviderRequest['method']; path: string; json?: unknown; createsRecord?: boolean },
  ): Promise<T> {
    const key = ServiceTitanTokenCache.keyFor(credentials);
    for (let attempt = 1; ; attempt++) {
      const token = await this.tokens.get(key, () => this.issueToken(credentials, hooks));
      try {
        return await sendProviderRequest<T>({
          method: request.method,
          url: joinUrl(this.settings.apiUrl, request.path),
          headers: { Authorization: `Bearer ${token}`, 'ST-App-Key': this.settings.appKey },
          json: request.json,
          timeoutMs: this.settings.requestTimeoutMs,
          hooks,
          createsRecord: request.createsRecord,
        });
      } catch (error) {
        if (error instanceof ProviderError && error.httpStatus === 401 && attempt === 1) {
          this.tokens.invalidate(key, token);
          continue;
        }
        throw error;
      }
    }
  }

  private async issueToken(
    credentials: ServiceTitanCredentials,
    hooks: ProviderCallHooks | undefined,
  ): Promise<IssuedToken> {
    let response: StTokenResponse;
    try {
      response = await sendProviderRequest<StTokenResponse>({
        method: 'POST',
        url: joinUrl(this.settings.authUrl, '/connect/token'),
        form: {
          grant_type: 'client_credentials',
          client_id: credentials.clientId,
          client_secret: credentials.clientSecret,
        },
        timeoutMs: this.settings.requestTimeoutMs,
        hooks,
      });
    } catch (error) {
      // The token endpoint answers bad credentials with 400 invalid_client or 401: never retryable.
      if (error instanceof ProviderError && [400, 401, 403].includes(error.httpStatus ?? 0)) {
        throw new ProviderError({
          code: 'AUTH',
          retryable: false,
          httpStatus: error.httpStatus,
          providerMessage: `token request rejected: ${error.providerMessage}`,
        });
      }
      throw error;
    }
    if (typeof response?.access_token !== 'string' || response.access_token === '') {
      throw new ProviderError({
        code: 'UNKNOWN',
        retryable: false,
        providerMessage: 'token response has no access_token',
      });
    }
    const expiresIn = Number(response.expires_in);
    return {
      accessToken: response.access_token,
      expiresInSeconds: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : DEFAULT_TOKEN_TTL_SECONDS,
    };
  }
}

function bookingsPath(credentials: ServiceTitanCredentials): string {
  return `/crm/v2/tenant/${credentials.tenantId}/booking-provider/${credentials.bookingProviderId}/bookings`;
}

function query(params: Record<string, string | number>): string {
  // Commas stay literal in `ids=1,2,3`, as ServiceTitan documents the list.
  return queryString(params).replace(/%2C/gi, ',');
}
