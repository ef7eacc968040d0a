import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Queue } from 'bullmq';
import { Counter } from 'prom-client';
import { DataSource } from 'typeorm';

import { systemActor } from '../audit/actor';
import { recordAuditEvent } from '../audit/audit';
import { AppConfig } from '../config/app-config';
import { CredentialsCipher } from '../connections/credentials-cipher';
import { METRIC } from '../metrics/metrics';
import { QUEUE, deliverWebhookJob, webhookJobId } from '../queue/queues';
import { withDeadline } from '../redis/deadline';
import { AttemptResult, WebhookSender } from './webhook-sender';
import { webhookHeaders } from './webhook-signature';

export type DeliveryOutcome = 'succeeded' | 'retry_scheduled' | 'failed' | 'skipped';

// Queueing must not hang on a Redis outage: the delivery is safe in PostgreSQL and the sweep queues it later.
const ENQUEUE_TIMEOUT_MS = 2000;
// A queued attempt may start this much before its time (clocks of Redis and PostgreSQL differ slightly).
const EARLY_TOLERANCE_MS = 1000;
// The sweep leaves a due delivery this long to the job queued for it before it queues it again.
const SWEEP_GRACE_MS = 30_000;

interface DeliveryRow {
  id: string;
  status: string;
  attempts: number;
  failures: number;
  next_attempt_at: Date | null;
  event_id: string;
  event_type: string;
  body: string;
  endpoint_id: string;
  url: string;
  secret: string;
  endpoint_status: string;
}

/**
 * Delivers outbox events (SPEC section 11), one attempt per queue job: signs the event (Standard Webhooks, the event
 * id as `webhook-id` on every attempt), sends it, and records the attempt with the delivery's next step in one
 * transaction. 2xx: delivered. 410: the endpoint is disabled. Anything else: retried after the next delay of
 * WEBHOOK_RETRY_DELAYS_MS, `failed` once they are used up. At least once: a worker killed after sending and before
 * recording sends that attempt again.
 */
@Injectable()
export class WebhookDispatcher {
  private readonly logger = new Logger(WebhookDispatcher.name);
  private readonly secrets = new Map<string, string>();

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectQueue(QUEUE.webhooks) private readonly queue: Queue,
    private readonly sender: WebhookSender,
    private readonly cipher: CredentialsCipher,
    private readonly config: AppConfig,
    @InjectMetric(METRIC.webhookDeliveries) private readonly deliveriesTotal: Counter,
  ) {}

  /** Queues attempts (deterministic job ids: an attempt already queued is not queued twice); false if Redis failed. */
  async enqueue(attempts: { deliveryId: string; attempt: number; delayMs?: number }[]): Promise<boolean> {
    if (!attempts.length) return true;
    try {
      await withDeadline(
        this.queue.addBulk(attempts.map((a) => deliverWebhookJob(a.deliveryId, a.attempt, a.delayMs))),
        ENQUEUE_TIMEOUT_MS,
      );
      return true;
    } catch (error) {
      this.logger.warn(
        { err: (error as Error).message, deliveries: attempts.length },
        'Webhook enqueue failed; the webhooks sweep will queue these',
      );
      return false;
    }
  }

  /** Runs an attempt queued for later now (a redelivery of a delivery waiting for its retry). */
  async promote(deliveryId: string, attempt: number): Promise<void> {
    try {
      const job = await this.queue.getJob(webhookJobId(deliveryId, attempt));
      if (job && (await job.isDelayed())) await job.promote();
    } catch (error) {
      // Gone or started meanwhile: either way the attempt runs.
      this.logger.debug({ deliveryId, err: (error as Error).message }, 'Webhook attempt not promoted');
    }
  }

  /** The webhooks sweep: due deliveries whose queue job seems lost, oldest first. Returns how many it queued. */
  async requeueDue(limit: number): Promise<number> {
    const rows: { id: string; attempts: number }[] = await this.db.query(
      `SELECT id, attempts FROM webhook_deliveries
        WHERE status = 'pending' AND next_attempt_at <= now() - $1 * interval '1 millisecond'
        ORDER BY next_attempt_at LIMIT $2`,
      [SWEEP_GRACE_MS, limit],
    );
    await this.queue.addBulk(rows.map((r) => deliverWebhookJob(r.id, r.attempts + 1)));
    return rows.length;
  }

  async deliver(deliveryId: string, attempt: number): Promise<DeliveryOutcome> {
    const rows: DeliveryRow[] = await this.db.query(
      `SELECT d.id, d.status, d.attempts, d.failures, d.next_attempt_at, e.id AS event_id, e.type AS event_type, e.body,
              p.id AS endpoint_id, p.url, p.secret, p.status AS endpoint_status
         FROM webhook_deliveries d
         JOIN webhook_events e ON e.id = d.event_id
         JOIN webhook_endpoints p ON p.id = d.endpoint_id
        WHERE d.id = $1`,
      [deliveryId],
    );
    const row = rows[0];
    // Another attempt, a redelivery or a disabled endpoint got there first.
    if (!row || row.status !== 'pending' || row.attempts !== attempt - 1 || row.endpoint_status !== 'enabled') {
      return 'skipped';
    }
    if (row.next_attempt_at && row.next_attempt_at.getTime() > Date.now() + EARLY_TOLERANCE_MS) return 'skipped';

    const headers = webhookHeaders({
      secret: this.secretOf(row),
      id: row.event_id,
      timestamp: Math.floor(Date.now() / 1000),
      body: row.body,
    });
    const result = await this.sender.send({ url: row.url, body: row.body, headers });
    this.deliveriesTotal.inc({ outcome: result.outcome });
    return this.record(row, attempt, result);
  }

  private async record(row: DeliveryRow, attempt: number, result: AttemptResult): Promise<DeliveryOutcome> {
    const delays = this.config.webhooks.retryDelaysMs;
    let outcome: DeliveryOutcome;
    let failures = row.failures;
    let nextAttemptAt: Date | null = null;
    if (result.outcome === 'success') {
      outcome = 'succeeded';
      failures = 0;
    } else if (result.outcome === 'gone') {
      outcome = 'failed';
    } else {
      failures += 1;
      if (failures > delays.length) outcome = 'failed';
      else {
        outcome = 'retry_scheduled';
        nextAttemptAt = new Date(Date.now() + delays[failures - 1]);
      }
    }
    const status = outcome === 'retry_scheduled' ? 'pending' : outcome;
    // The delivery's next step and its attempt log, in one statement; written only if this attempt is still the
    // delivery's current one (a redelivery or a disabled endpoint may have moved it meanwhile).
    const record = (m: { query: DataSource['query'] }) =>
      m.query(
        `WITH moved AS (
           UPDATE webhook_deliveries SET status = $3, attempts = $2, failures = $4, next_attempt_at = $5, updated_at = now()
            WHERE id = $1 AND status = 'pending' AND attempts = $2 - 1
           RETURNING id)
         INSERT INTO webhook_delivery_attempts
           (delivery_id, endpoint_id, event_id, event_type, attempt, outcome, http_status, duration_ms, error, next_attempt_at)
         SELECT id, $6, $7, $8, $2, $9, $10, $11, $12, $5 FROM moved
         RETURNING id`,
        [
          row.id,
          attempt,
          status,
          failures,
          nextAttemptAt,
          row.endpoint_id,
          row.event_id,
          row.event_type,
          result.outcome,
          result.httpStatus,
          result.durationMs,
          result.error,
        ],
      ) as Promise<{ id: string }[]>;
    const recorded =
      result.outcome === 'gone'
        ? await this.db.transaction(async (m) => {
            if (!(await record(m)).length) return false;
            const reason = 'the receiver answered 410 Gone';
            await disableEndpoint(m, row.endpoint_id, reason);
            await recordAuditEvent(m, {
              actor: systemActor(),
              action: 'webhook_endpoint.updated',
              resourceType: 'webhook_endpoint',
              resourceId: row.endpoint_id,
              changes: { status: { old: 'enabled', new: 'disabled' }, statusReason: { old: null, new: reason } },
            });
            return true;
          })
        : (await record(this.db)).length > 0;
    if (!recorded) return 'skipped';
    if (result.outcome !== 'success') {
      this.logger.warn(
        { endpointId: row.endpoint_id, eventId: row.event_id, attempt, outcome: result.outcome, reason: result.error },
        outcome === 'retry_scheduled' ? 'Webhook attempt failed; will retry' : 'Webhook delivery failed for good',
      );
    }
    if (nextAttemptAt) {
      await this.enqueue([{ deliveryId: row.id, attempt: attempt + 1, delayMs: nextAttemptAt.getTime() - Date.now() }]);
    }
    return outcome;
  }

  private secretOf(row: DeliveryRow): string {
    let secret = this.secrets.get(row.secret);
    if (!secret) {
      secret = this.cipher.decrypt(row.secret) as string;
      if (this.secrets.size > 1000) this.secrets.clear();
      this.secrets.set(row.secret, secret);
    }
    return secret;
  }
}

/** An endpoint stops receiving: disabled with the reason, and what was still waiting for it is canceled. */
export async function disableEndpoint(
  m: { query: DataSource['query'] },
  endpointId: string,
  reason: string,
): Promise<void> {
  await m.query(
    `UPDATE webhook_endpoints SET status = 'disabled', status_reason = $2, updated_at = now()
      WHERE id = $1 AND status = 'enabled'`,
    [endpointId, reason],
  );
  await m.query(
    `UPDATE webhook_deliveries SET status = 'canceled', next_attempt_at = NULL, updated_at = now()
      WHERE endpoint_id = $1 AND status = 'pending'`,
    [endpointId],
  );
}
