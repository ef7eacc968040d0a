import { createHash } from 'node:crypto';

import { InjectQueue } from '@nestjs/bullmq';
import { HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { Counter } from 'prom-client';
import { DataSource } from 'typeorm';

import { systemActor } from '../audit/actor';
import { DomainError, NotFoundError, UnauthorizedError, ValidationError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { ConnectionUnusableError } from '../connections/connection-errors';
import { ConnectionRef, ConnectionsService } from '../connections/connections.service';
import { METRIC } from '../metrics/metrics';
import { PollingService } from '../polling/polling.service';
import { providerCatalog } from '../providers/provider-catalog';
import { ProviderDefinition, WebhookEvent } from '../providers/provider-definition';
import { ProviderError } from '../providers/provider-error';
import { ProviderGateway } from '../providers/provider-gateway';
import { JOB, ProviderWebhookData, QUEUE } from '../queue/queues';
import { withDeadline } from '../redis/deadline';
import { REDIS } from '../redis/redis.module';

export type ReceivedOutcome = 'accepted' | 'duplicate' | 'ignored';
export type ReceiveResult = Record<ReceivedOutcome, number>;

// Providers deliver at least once (a retry minutes later, or twice at once): an event seen within this window
// causes no second status read.
const DUPLICATE_WINDOW_MS = 10 * 60_000;
// The provider wants an answer within a second: Redis gets this long for the duplicate check, and for the queueing.
const DUPLICATE_CHECK_DEADLINE_MS = 250;
const ENQUEUE_DEADLINE_MS = 600;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

class TryLaterError extends DomainError {
  constructor() {
    super(HttpStatus.SERVICE_UNAVAILABLE, 'Service Unavailable', 'The webhook could not be queued; send it again');
  }
}

/**
 * Inbound provider webhooks (SPEC section 10). The API side authenticates a webhook (the connection's URL token, or
 * the app's signature), reads its events with the provider's parser, drops duplicates and unknown records, and
 * queues the work; the worker side re-reads the named routings' status from the provider through the polling code.
 * A webhook is a hint: its payload never sets a status.
 */
@Injectable()
export class ProviderWebhooksService {
  private readonly logger = new Logger(ProviderWebhooksService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(REDIS) private readonly redis: Redis,
    @InjectQueue(QUEUE.providerWebhooks) private readonly queue: Queue,
    private readonly connections: ConnectionsService,
    private readonly polling: PollingService,
    private readonly gateway: ProviderGateway,
    private readonly config: AppConfig,
    @InjectMetric(METRIC.webhookEventsReceived) private readonly received: Counter,
  ) {}

  async receive(request: {
    provider: string;
    /** Set on the per-connection URL; absent on an app-level one. */
    connection?: { id: string; token: string };
    rawBody: Buffer;
    headers: Record<string, string | string[] | undefined>;
    requestId?: string;
  }): Promise<ReceiveResult> {
    const { provider } = request;
    const definition = providerCatalog.find(provider);
    const webhooks = definition?.webhooks;
    if (!definition || !webhooks || webhooks.receiver !== (request.connection ? 'connection' : 'app')) {
      throw new NotFoundError('Webhook receiver', request.connection ? `${provider}/{connectionId}/{token}` : provider);
    }
    let connection: ConnectionRef | null = null;
    if (request.connection) {
      const { id, token } = request.connection;
      connection = UUID.test(id) ? await this.connections.webhookTarget(id, token) : null;
      if (connection?.providerType !== provider) {
        this.received.inc({ provider, outcome: 'unauthorized' });
        throw new UnauthorizedError('This webhook URL is not valid');
      }
    } else if (
      !webhooks.verify?.({
        rawBody: request.rawBody,
        headers: request.headers,
        settings: this.config.providerSettings(provider),
      })
    ) {
      this.received.inc({ provider, outcome: 'unauthorized' });
      throw new UnauthorizedError('The webhook signature is not valid');
    }

    let body: unknown;
    try {
      body = JSON.parse(request.rawBody.toString('utf8'));
    } catch {
      this.received.inc({ provider, outcome: 'invalid' });
      throw new ValidationError([{ field: 'body', message: 'must be JSON' }]);
    }
    const result: ReceiveResult = { accepted: 0, duplicate: 0, ignored: 0 };
    for (const event of webhooks.parse(body)) {
      const outcome = await this.take(definition, event, connection, request.requestId);
      result[outcome]++;
      this.received.inc({ provider, outcome });
    }
    return result;
  }

  /** Worker side: the queued work of one event. Returns how many routings changed. */
  async handle(data: ProviderWebhookData): Promise<number> {
    switch (data.kind) {
      case 'refresh':
        return (await this.polling.pollRoutings(data.connectionId, data.routingIds, data.requestId)).changed;
      case 'resolve': {
        let changed = 0;
        for (const connectionId of data.connectionIds) {
          const routingIds = await this.resolve(connectionId, data);
          if (routingIds.length) {
            changed += (await this.polling.pollRoutings(connectionId, routingIds, data.requestId)).changed;
          }
        }
        return changed;
      }
      case 'disconnect': {
        const reason = `${providerCatalog.get(data.provider).displayName} reported the app disconnected (${data.topic})`;
        // The service acts on the provider's word: a system change, traced to the webhook's request.
        const actor = systemActor(data.requestId ?? null);
        for (const connectionId of data.connectionIds) await this.connections.invalidate(connectionId, reason, actor);
        return 0;
      }
    }
  }

  private async take(
    definition: ProviderDefinition,
    event: WebhookEvent,
    connection: ConnectionRef | null,
    requestId?: string,
  ): Promise<ReceivedOutcome> {
    if (event.kind === 'ignored') return 'ignored';
    const provider = definition.type;
    const connections = connection
      ? [connection]
      : event.accountId
        ? await this.connections.ofAccount(provider, event.accountId)
        : [];
    if (!connections.length) return 'ignored';
    const base = { provider, topic: event.topic, requestId };
    let work: ProviderWebhookData[];
    if (event.kind === 'disconnected') {
      work = [{ ...base, kind: 'disconnect', connectionIds: connections.map((c) => c.id) }];
    } else if ('externalId' in event.record) {
      // Records no routing tracks (or whose routing is no longer synced) are acknowledged and left alone.
      const rows: { id: string; connection_id: string }[] = await this.db.query(
        `SELECT id, connection_id FROM routings
          WHERE external_id = $1 AND connection_id = ANY($2::uuid[]) AND status = 'synced'`,
        [event.record.externalId, connections.map((c) => c.id)],
      );
      if (!rows.length) return 'ignored';
      work = [...new Set(rows.map((r) => r.connection_id))].map((connectionId) => ({
        ...base,
        kind: 'refresh' as const,
        connectionId,
        routingIds: rows.filter((r) => r.connection_id === connectionId).map((r) => r.id),
      }));
    } else {
      work = [{ ...base, kind: 'resolve', connectionIds: connections.map((c) => c.id), item: event.record.item }];
    }
    const seenKey = `webhook-seen:${provider}:${connection?.id ?? `account:${event.accountId}`}:${event.key}`;
    if (!(await this.firstSighting(seenKey))) return 'duplicate';
    if (!(await this.enqueue(seenKey, work))) {
      // Forget the sighting, so the provider's redelivery is not taken for a duplicate.
      await this.redis.del(seenKey).catch(() => undefined);
      throw new TryLaterError();
    }
    return 'accepted';
  }

  /** True the first time an event is seen within the window; true as well when Redis cannot tell (fail open). */
  private async firstSighting(key: string): Promise<boolean> {
    try {
      const set = this.redis.set(key, '1', 'PX', DUPLICATE_WINDOW_MS, 'NX');
      return (await withDeadline(set, DUPLICATE_CHECK_DEADLINE_MS)) === 'OK';
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'Webhook duplicate check skipped: Redis unavailable');
      return true;
    }
  }

  private async enqueue(seenKey: string, work: ProviderWebhookData[]): Promise<boolean> {
    const id = createHash('sha256').update(seenKey).digest('hex').slice(0, 32);
    try {
      await withDeadline(
        this.queue.addBulk(
          work.map((data, i) => ({
            name: JOB.handleProviderWebhook,
            data,
            opts: { jobId: `pwh_${id}_${i}`, removeOnComplete: true, removeOnFail: true },
          })),
        ),
        ENQUEUE_DEADLINE_MS,
      );
      return true;
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'Provider webhook not queued; asking the provider to resend');
      return false;
    }
  }

  /** The synced routings of a connection that a provider item (a job, a visit) belongs to, as the provider tells. */
  private async resolve(
    connectionId: string,
    data: Extract<ProviderWebhookData, { kind: 'resolve' }>,
  ): Promise<string[]> {
    const connection = await this.connections.find(connectionId);
    let externalId: string | null;
    try {
      [externalId] = await this.gateway.findReferralIds(connection, { items: [data.item], requestId: data.requestId });
    } catch (error) {
      // The poll sweep reads this routing in its time; a webhook is only a hint.
      if (!(error instanceof ProviderError || error instanceof ConnectionUnusableError)) throw error;
      this.logger.warn(
        { connectionId, provider: data.provider, item: data.item, reason: error.message },
        'Could not map a provider webhook item to its routing',
      );
      return [];
    }
    if (!externalId) return [];
    const rows: { id: string }[] = await this.db.query(
      `SELECT id FROM routings WHERE connection_id = $1 AND external_id = $2 AND status = 'synced'`,
      [connectionId, externalId],
    );
    return rows.map((r) => r.id);
  }
}
