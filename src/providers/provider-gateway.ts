import { Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter } from 'prom-client';

import { CircuitOpenError, ConnectionUnusableError, StoredCredentialsError } from '../connections/connection-errors';
import { ConnectionRef, ConnectionsService } from '../connections/connections.service';
import { ProviderCallStats } from '../health/provider-call-stats';
import { METRIC } from '../metrics/metrics';
import {
  ChangedRecords,
  CreatedReferral,
  CredentialsStore,
  ProviderCallHooks,
  Referral,
  ReferralStatus,
  StatusQuery,
} from './field-service-provider';
import type { WebhookItem } from './provider-definition';
import { ProviderError } from './provider-error';
import { ProviderRateLimiter } from './provider-rate-limiter';
import { CircuitBreaker } from './circuit-breaker';
import { ProviderRegistry, RegisteredProvider } from './provider-registry';

/** What one call through the gateway did, for the routing's event timeline. */
export interface CallTrace {
  lastHttpStatus: number | null;
  /** A request that creates the provider's record was sent (or began to be). */
  createSent: boolean;
}

/** The last answer of a call's requests: a failure (no answer, a timeout, a 5xx), and whether any came. */
interface CallAnswers {
  failed: boolean;
  answered: boolean;
}

interface CallOptions {
  requestId?: string;
  /** No provider request starts after this time (the sync job's time limit). */
  deadline?: number;
  trace?: CallTrace;
}

/**
 * The one way to call a connection's provider, for sync and polling alike: the connection's credentials checked
 * against the provider's schema, the shared per-connection rate limit, request counting, and what a failure means
 * for the connection (credentials rejected for good → the connection becomes invalid).
 */
@Injectable()
export class ProviderGateway {
  private readonly parsedCredentials = new WeakMap<
    object,
    { schema: unknown; result: ReturnType<RegisteredProvider['definition']['credentials']['safeParse']> }
  >();

  constructor(
    private readonly registry: ProviderRegistry,
    private readonly connections: ConnectionsService,
    private readonly limiter: ProviderRateLimiter,
    private readonly stats: ProviderCallStats,
    private readonly circuits: CircuitBreaker,
    @InjectMetric(METRIC.providerRequests) private readonly providerRequests: Counter,
    @InjectMetric(METRIC.providerRateLimited) private readonly providerRateLimited: Counter,
  ) {}

  createReferral(
    connection: ConnectionRef,
    params: { referral: Referral; mayAlreadyExist: boolean } & CallOptions,
  ): Promise<CreatedReferral> {
    return this.call(connection, params, (provider, credentials, hooks, credentialsStore) =>
      provider.strategy.createReferral({
        credentials,
        credentialsStore,
        referral: params.referral,
        mayAlreadyExist: params.mayAlreadyExist,
        hooks,
      }),
    );
  }

  getStatuses(connection: ConnectionRef, params: { queries: StatusQuery[] } & CallOptions): Promise<ReferralStatus[]> {
    return this.call(connection, params, (provider, credentials, hooks, credentialsStore) =>
      provider.strategy.getStatuses({ credentials, credentialsStore, queries: params.queries, hooks }),
    );
  }

  hasChangeFeed(connection: ConnectionRef): boolean {
    return !!this.registry.get(connection.providerType).strategy.readChanges;
  }

  /** The provider's change feed since `cursor`; null when the provider has none (then poll by id). */
  readChanges(
    connection: ConnectionRef,
    params: { cursor: string | null; maxRequests: number } & CallOptions,
  ): Promise<ChangedRecords | null> {
    if (!this.registry.get(connection.providerType).strategy.readChanges) return Promise.resolve(null);
    return this.call(connection, params, (provider, credentials, hooks, credentialsStore) =>
      provider.strategy.readChanges!({
        credentials,
        credentialsStore,
        cursor: params.cursor,
        maxRequests: params.maxRequests,
        hooks,
      }),
    );
  }

  /** Webhook items (a job, a visit) → the externalIds of the records routings track; null where none is known. */
  findReferralIds(
    connection: ConnectionRef,
    params: { items: WebhookItem[] } & CallOptions,
  ): Promise<(string | null)[]> {
    return this.call(connection, params, (provider, credentials, hooks, credentialsStore) =>
      provider.strategy.findReferralIds
        ? provider.strategy.findReferralIds({ credentials, credentialsStore, items: params.items, hooks })
        : Promise.resolve(params.items.map(() => null)),
    );
  }

  private async call<T>(
    connection: ConnectionRef,
    options: CallOptions,
    work: (
      provider: RegisteredProvider,
      credentials: object,
      hooks: ProviderCallHooks,
      credentialsStore: CredentialsStore<object>,
    ) => Promise<T>,
  ): Promise<T> {
    if (connection.status === 'invalid') throw ConnectionUnusableError.invalid(connection.id, connection.statusReason);
    const provider = this.registry.get(connection.providerType);
    const parsed = this.parseCredentials(provider, await this.connections.credentialsOf(connection.id));
    if (!parsed.success) {
      const fields = parsed.error.issues.flatMap((i) => (i.code === 'unrecognized_keys' ? i.keys : [i.path.join('.')]));
      throw new StoredCredentialsError(connection.id, [...new Set(fields)]);
    }
    const parse = (raw: unknown) => provider.definition.credentials.parse(raw);
    const credentialsStore: CredentialsStore<object> = {
      replace: (change) => this.connections.replaceCredentials(connection.id, parse, change),
    };
    const permit = await this.circuits.permit(connection.id);
    if (!permit.allowed) throw new CircuitOpenError(connection.id, permit.retryAt);
    // What the provider's answers say about its health, for the circuit breaker: a call that ends in a network
    // error, a timeout or a 5xx is a failure; one the provider answered otherwise (a 4xx included) is not.
    const answers: CallAnswers = { failed: false, answered: false };
    try {
      const result = await work(provider, parsed.data, this.hooks(connection, options, answers), credentialsStore);
      await this.circuits.recordSuccess(connection.id);
      return result;
    } catch (error) {
      if (error instanceof ProviderError && error.retryable && answers.failed && error.code !== 'RATE_LIMITED') {
        await this.circuits.recordFailure(connection.id, connection.providerType);
      } else if (answers.answered) {
        await this.circuits.recordSuccess(connection.id);
      }
      if (error instanceof ProviderError && error.code === 'AUTH') {
        const reason = `${provider.definition.displayName} rejected the credentials (${error.providerMessage})`;
        await this.connections.invalidate(connection.id, reason);
        throw ConnectionUnusableError.invalid(connection.id, reason);
      }
      throw error;
    }
  }

  /**
   * The provider's schema check of stored credentials, once per credentials object: ConnectionsService caches the
   * decrypted object briefly and replaces it when the credentials change, so the same object parses the same.
   */
  private parseCredentials(provider: RegisteredProvider, raw: unknown) {
    if (typeof raw !== 'object' || raw === null) return provider.definition.credentials.safeParse(raw);
    let parsed = this.parsedCredentials.get(raw);
    if (!parsed || parsed.schema !== provider.definition.credentials) {
      parsed = { schema: provider.definition.credentials, result: provider.definition.credentials.safeParse(raw) };
      this.parsedCredentials.set(raw, parsed);
    }
    return parsed.result;
  }

  private hooks(connection: ConnectionRef, options: CallOptions, answers: CallAnswers): ProviderCallHooks {
    const provider = connection.providerType;
    const { trace } = options;
    return {
      requestId: options.requestId,
      beforeRequest: async ({ createsRecord, cost }) => {
        await this.limiter.acquire(provider, connection.id, options.deadline, cost);
        if (createsRecord && trace) trace.createSent = true;
      },
      reportBudget: (budget) => void this.limiter.recordBudget(provider, connection.id, budget),
      afterResponse: (info) => {
        const failed = typeof info.status !== 'number' || info.status >= 500;
        answers.failed = failed;
        answers.answered ||= !failed;
        this.providerRequests.inc({ provider, status: String(info.status) });
        this.stats.record(provider, info.status);
        if (trace && typeof info.status === 'number') trace.lastHttpStatus = info.status;
        if (info.status === 429) {
          this.providerRateLimited.inc({ provider });
          void this.limiter.coolDown(provider, connection.id, info.retryAfterMs ?? 1000);
        }
      },
    };
  }
}
