import { Inject, Injectable } from '@nestjs/common';

import type { JobberCredentials, JobberSettings } from '.';
import { CredentialsStore, ProviderCallHooks } from '../field-service-provider';
import { providerSettingsToken } from '../provider-definition';
import { ProviderError } from '../provider-error';
import { joinUrl, sendProviderRequest } from '../provider-http';
import { JobberOperation } from './jobber.documents';
import { GraphqlError, GraphqlResponse, JobberCost, JobberTokenResponse } from './jobber.types';

/** One strategy call's view of a connection: its credentials (replaced when refreshed) and where they are kept. */
export interface JobberCall {
  credentials: JobberCredentials;
  store?: CredentialsStore<JobberCredentials>;
  hooks?: ProviderCallHooks;
}

// GraphQL error codes that mean the token or the app's access is gone, not that the document is wrong.
const AUTH_CODES = /UNAUTHENTICATED|UNAUTHORIZED|FORBIDDEN|ACCESS_DENIED|INVALID_TOKEN/i;
const DEFAULT_TOKEN_TTL_MS = 60 * 60_000;

/**
 * Raw HTTP for Jobber (providers.md section 3): the OAuth token endpoint (authorization code and rotating refresh
 * tokens) and GraphQL at `{JOBBER_API_URL}/api/graphql` with `Authorization: Bearer` and `X-JOBBER-GRAPHQL-VERSION`.
 * GraphQL errors arrive with HTTP 200 and are classified here.
 */
@Injectable()
export class JobberClient {
  /** What each document really cost last time (Jobber reports it), per alias for the batched status read. */
  private readonly observedCost = new Map<string, number>();

  constructor(@Inject(providerSettingsToken('jobber')) private readonly settings: JobberSettings) {}

  /** Production needs the app's OAuth client (JOBBER_CLIENT_ID / JOBBER_CLIENT_SECRET); the sandbox has its own. */
  configured(): boolean {
    return this.settings.clientId !== '' && this.settings.clientSecret !== '';
  }

  authorizeUrl(params: { state: string; redirectUri: string }): string {
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: this.settings.clientId,
      redirect_uri: params.redirectUri,
      state: params.state,
    });
    return `${joinUrl(this.settings.apiUrl, '/api/oauth/authorize')}?${query.toString()}`;
  }

  exchangeCode(params: { code: string; redirectUri: string; hooks?: ProviderCallHooks }): Promise<JobberCredentials> {
    return this.token(
      { grant_type: 'authorization_code', code: params.code, redirect_uri: params.redirectUri },
      params.hooks,
    );
  }

  async query<T>(
    call: JobberCall,
    operation: JobberOperation,
    variables: Record<string, unknown> = {},
    options: { createsRecord?: boolean; units?: number } = {},
  ): Promise<T> {
    await this.ensureFresh(call);
    const units = options.units ?? 1;
    const cost = Math.ceil((this.observedCost.get(operation.name) ?? operation.estimatedCost / units) * units);
    const usedToken = call.credentials.accessToken;
    try {
      return await this.send<T>(call, operation, variables, { ...options, cost, units });
    } catch (error) {
      // An access token can be revoked before its time: one refresh, then the same answer is final.
      if (!(error instanceof ProviderError && error.httpStatus === 401) || !call.store) throw error;
      call.credentials = await call.store.replace((latest) =>
        latest.accessToken === usedToken ? this.refresh(latest, call.hooks) : Promise.resolve(latest),
      );
      return this.send<T>(call, operation, variables, { ...options, cost, units });
    }
  }

  /** Refreshes the access token when less than a tenth of its lifetime (at most 60 s) remains (SPEC section 4). */
  private async ensureFresh(call: JobberCall): Promise<void> {
    if (!needsRefresh(call.credentials, Date.now()) || !call.store) return;
    // Under the connection's lock, with what is stored now: another process may have refreshed already.
    call.credentials = await call.store.replace((latest) =>
      needsRefresh(latest, Date.now()) ? this.refresh(latest, call.hooks) : Promise.resolve(latest),
    );
  }

  /** Refresh token rotation: the answer carries a new refresh token; the old one is dead from now on. */
  private refresh(current: JobberCredentials, hooks?: ProviderCallHooks): Promise<JobberCredentials> {
    return this.token({ grant_type: 'refresh_token', refresh_token: current.refreshToken }, hooks).then((next) => ({
      ...next,
      ...(current.accountId ? { accountId: current.accountId } : {}),
    }));
  }

  private async token(grant: Record<string, string>, hooks?: ProviderCallHooks): Promise<JobberCredentials> {
    const receivedAt = Date.now();
    const response = await sendProviderRequest<JobberTokenResponse>({
      method: 'POST',
      url: joinUrl(this.settings.apiUrl, '/api/oauth/token'),
      form: { ...grant, client_id: this.settings.clientId, client_secret: this.settings.clientSecret },
      timeoutMs: this.settings.requestTimeoutMs,
      hooks,
    });
    if (!response?.access_token || !response.refresh_token) {
      throw new ProviderError({ code: 'UNKNOWN', retryable: false, providerMessage: 'token response lacks a token' });
    }
    // The access token is a JWT: its own `exp`/`iat` are the truth; the response's expiry is the fallback.
    const claims = jwtClaims(response.access_token);
    const fallbackExpiry = response.expires_at
      ? Date.parse(response.expires_at)
      : receivedAt + (Number(response.expires_in) > 0 ? Number(response.expires_in) * 1000 : DEFAULT_TOKEN_TTL_MS);
    const expiresAt = claims.exp ? claims.exp * 1000 : fallbackExpiry;
    return {
      accessToken: response.access_token,
      refreshToken: response.refresh_token,
      accessTokenExpiresAt: expiresAt,
      accessTokenIssuedAt: claims.iat
        ? Math.min(claims.iat * 1000, expiresAt - 1)
        : Math.min(receivedAt, expiresAt - 1),
    };
  }

  private async send<T>(
    call: JobberCall,
    operation: JobberOperation,
    variables: Record<string, unknown>,
    options: { createsRecord?: boolean; cost: number; units: number },
  ): Promise<T> {
    const hooks = call.hooks;
    const response = await sendProviderRequest<GraphqlResponse<T>>({
      method: 'POST',
      url: joinUrl(this.settings.apiUrl, '/api/graphql'),
      headers: {
        Authorization: `Bearer ${call.credentials.accessToken}`,
        'X-JOBBER-GRAPHQL-VERSION': this.settings.graphqlVersion,
      },
      json: { query: operation.document, operationName: operation.name, variables },
      timeoutMs: this.settings.requestTimeoutMs,
      createsRecord: options.createsRecord,
      hooks: hooks && {
        ...hooks,
        beforeRequest: (r) => hooks.beforeRequest?.({ ...r, cost: options.cost }) ?? Promise.resolve(),
      },
    });
    const cost = response?.extensions?.cost;
    if (cost?.throttleStatus) {
      hooks?.reportBudget?.({
        available: cost.throttleStatus.currentlyAvailable,
        maximum: cost.throttleStatus.maximumAvailable,
        restoreRate: cost.throttleStatus.restoreRate,
      });
      if (cost.requestedQueryCost > 0) this.observedCost.set(operation.name, cost.requestedQueryCost / options.units);
    }
    if (response?.errors?.length) throw classifyGraphqlErrors(response.errors, cost);
    if (!response?.data) {
      throw new ProviderError({ code: 'UNKNOWN', retryable: false, providerMessage: 'GraphQL response has no data' });
    }
    return response.data;
  }
}

export function needsRefresh(credentials: JobberCredentials, now: number): boolean {
  const lifetime = credentials.accessTokenExpiresAt - credentials.accessTokenIssuedAt;
  const margin = Math.min(60_000, Math.max(0, lifetime) / 10);
  return now >= credentials.accessTokenExpiresAt - margin;
}

/**
 * GraphQL `errors` with HTTP 200 (providers.md 3.4, 3.5): THROTTLED waits for the points it lacks to be restored;
 * authentication errors are AUTH; anything else is a document or data problem that a retry will not fix.
 */
export function classifyGraphqlErrors(errors: GraphqlError[], cost?: JobberCost): ProviderError {
  const message = errors.map((e) => e.message).join('; ');
  if (errors.some((e) => e.extensions?.code === 'THROTTLED')) {
    const status = cost?.throttleStatus;
    // More than a full bucket: no wait ever makes it affordable (providers.md 3.4).
    if (status && cost.requestedQueryCost > status.maximumAvailable) {
      return new ProviderError({
        code: 'INVALID',
        retryable: false,
        providerMessage: `query costs ${cost.requestedQueryCost} points, more than Jobber's maximum of ${status.maximumAvailable}`,
      });
    }
    const missing = status ? Math.max(0, (cost?.requestedQueryCost ?? 0) - status.currentlyAvailable) : 0;
    const retryAfterMs =
      status && status.restoreRate > 0 ? Math.ceil((missing / status.restoreRate) * 1000) + 250 : 1000;
    return new ProviderError({ code: 'RATE_LIMITED', retryable: true, providerMessage: message, retryAfterMs });
  }
  if (errors.some((e) => AUTH_CODES.test(e.extensions?.code ?? ''))) {
    return new ProviderError({ code: 'AUTH', retryable: false, providerMessage: message });
  }
  return new ProviderError({ code: 'INVALID', retryable: false, providerMessage: message });
}

function jwtClaims(token: string): { exp?: number; iat?: number } {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    return {
      exp: typeof payload.exp === 'number' ? payload.exp : undefined,
      iat: typeof payload.iat === 'number' ? payload.iat : undefined,
    };
  } catch {
    return {};
  }
}
