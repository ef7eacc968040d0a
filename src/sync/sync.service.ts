import { randomUUID } from 'node:crypto';

import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Queue } from 'bullmq';
import { Counter, Histogram } from 'prom-client';
import { DataSource, EntityManager } from 'typeorm';

import { CompaniesService } from '../companies/companies.service';
import { Company } from '../companies/company.entity';
import { AppConfig } from '../config/app-config';
import { refreshJobAggregates } from '../jobs/job-aggregate';
import { Job } from '../jobs/job.entity';
import { METRIC } from '../metrics/metrics';
import { ProviderType, Referral } from '../providers/field-service-provider';
import { ProviderError } from '../providers/provider-error';
import { ProviderRegistry } from '../providers/provider-registry';
import { JOB, PRIORITY, QUEUE, SyncRoutingData } from '../queue/queues';
import { RoutingEventType } from '../routing/routing-event.entity';
import { ProviderCallHooksFactory } from './provider-call-hooks';
import { decideAfterFailure } from './sync-decision';

interface ClaimedRouting {
  id: string;
  jobId: string;
  companyId: string;
  providerType: ProviderType;
  attempts: number;
  claimToken: string;
}

export type SyncOutcome = 'not_claimed' | 'synced' | 'retry_scheduled' | 'permanently_failed' | 'claim_lost';

interface EventRow {
  type: RoutingEventType;
  outcome: string;
  httpStatus?: number | null;
  durationMs?: number | null;
  message?: string | null;
}

/**
 * Pushes one routing to its company's provider. The database is the truth: a worker first claims the
 * routing (pending, or failed and due → syncing) with a token, and every later write carries that token,
 * so two workers never work the same routing and a late answer from a rescued attempt changes nothing.
 */
@Injectable()
export class SyncService {
  private readonly logger = new Logger(SyncService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly providers: ProviderRegistry,
    private readonly companies: CompaniesService,
    private readonly hooks: ProviderCallHooksFactory,
    private readonly config: AppConfig,
    @InjectQueue(QUEUE.retry) private readonly retryQueue: Queue,
    @InjectMetric(METRIC.routingSync) private readonly syncCounter: Counter,
    @InjectMetric(METRIC.routingSyncDuration) private readonly syncDuration: Histogram,
  ) {}

  async syncRouting(routingId: string, options: { requestId?: string; deadline?: number } = {}): Promise<SyncOutcome> {
    const routing = await this.claim(routingId);
    if (!routing) return 'not_claimed';
    // Never past the time limit counted from this claim: cleanup treats the claim as abandoned soon after
    // (AppConfig.syncStaleAfterMs), and a still-running attempt could then race the retry at the provider.
    const deadline = Math.min(options.deadline ?? Number.POSITIVE_INFINITY, Date.now() + this.config.syncJobTimeoutMs);
    const started = Date.now();
    let lastHttpStatus: number | null = null;
    const hooks = this.hooks.create({
      provider: routing.providerType,
      account: routing.companyId,
      requestId: options.requestId,
      deadline,
      onResponse: (status) => {
        if (typeof status === 'number') lastHttpStatus = status;
      },
    });
    try {
      const provider = this.providers.get(routing.providerType);
      const credentials = await this.companies.credentialsFor(routing.companyId);
      const referral = await this.referralFor(routing);
      const created = await provider.createReferral({ credentials, referral, hooks });
      const durationMs = Date.now() - started;
      this.observe(routing.providerType, 'synced', durationMs);
      return await this.recordSuccess(routing, created.externalId, created.created, {
        httpStatus: lastHttpStatus,
        durationMs,
      });
    } catch (error) {
      const durationMs = Date.now() - started;
      if (!(error instanceof ProviderError)) {
        this.logger.error(
          { err: error, routingId, requestId: options.requestId },
          'Sync attempt failed inside the service',
        );
      }
      return this.recordFailure(routing, error, {
        httpStatus: error instanceof ProviderError ? (error.httpStatus ?? null) : null,
        durationMs,
        requestId: options.requestId,
      });
    }
  }

  /** Sync sweep: pending routings, oldest first; re-adding one already queued is a no-op (jobId = routing id). */
  async pendingRoutingIds(limit: number): Promise<string[]> {
    const rows: { id: string }[] = await this.db.query(
      `SELECT id FROM routings WHERE status = 'pending' ORDER BY created_at LIMIT $1`,
      [limit],
    );
    return rows.map((r) => r.id);
  }

  /** Retry sweep: failed routings whose retry time has come, earliest first. */
  async dueRetries(limit: number): Promise<{ id: string; nextRetryAt: Date }[]> {
    const rows: { id: string; next_retry_at: Date }[] = await this.db.query(
      `SELECT id, next_retry_at FROM routings WHERE status = 'failed' AND next_retry_at <= now() ORDER BY next_retry_at LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({ id: r.id, nextRetryAt: r.next_retry_at }));
  }

  async enqueueRetry(routingId: string, nextRetryAt: Date): Promise<void> {
    await this.retryQueue.add(JOB.syncRouting, { routingId } satisfies SyncRoutingData, {
      // One job per scheduled retry: the delayed job and the retry sweep's for the same retry collapse into one.
      jobId: `retry_${routingId}_${nextRetryAt.getTime()}`,
      delay: Math.max(0, nextRetryAt.getTime() - Date.now()),
      priority: PRIORITY.high,
      removeOnComplete: true,
      removeOnFail: true,
    });
  }

  private async claim(routingId: string): Promise<ClaimedRouting | null> {
    const claimToken = randomUUID();
    const [rows] = (await this.db.query(
      `UPDATE routings SET status = 'syncing', attempts = attempts + 1, claim_token = $2,
              status_changed_at = now(), updated_at = now()
        WHERE id = $1 AND (status = 'pending' OR (status = 'failed' AND next_retry_at <= now()))
        RETURNING id, job_id, company_id, provider_type, attempts`,
      [routingId, claimToken],
    )) as [{ id: string; job_id: string; company_id: string; provider_type: ProviderType; attempts: number }[], number];
    const row = rows[0];
    return row
      ? {
          id: row.id,
          jobId: row.job_id,
          companyId: row.company_id,
          providerType: row.provider_type,
          attempts: row.attempts,
          claimToken,
        }
      : null;
  }

  private async referralFor(routing: ClaimedRouting): Promise<Referral> {
    const job = await this.db.getRepository(Job).findOneByOrFail({ id: routing.jobId });
    const referrer = await this.db
      .getRepository(Company)
      .findOne({ where: { id: job.companyId }, select: { id: true, name: true } });
    return {
      routingId: routing.id,
      jobId: job.id,
      referringCompanyName: referrer?.name ?? 'a TradeEngage partner',
      homeowner: job.homeowner,
      address: job.address,
      summary: job.summary,
      trade: job.trade,
    };
  }

  private async recordSuccess(
    routing: ClaimedRouting,
    externalId: string,
    created: boolean,
    attempt: { httpStatus: number | null; durationMs: number },
  ): Promise<SyncOutcome> {
    return this.db.transaction(async (m) => {
      const [, affected] = (await m.query(
        `UPDATE routings SET status = 'synced', external_id = $3, provider_status = 'received', synced_at = now(),
                next_retry_at = NULL, last_error = NULL, claim_token = NULL, status_changed_at = now(), updated_at = now()
          WHERE id = $1 AND status = 'syncing' AND claim_token = $2`,
        [routing.id, routing.claimToken, externalId],
      )) as [unknown, number];
      if (!affected) return this.claimLost(routing);
      await this.addEvents(m, routing.id, [
        {
          type: 'sync_attempt',
          outcome: 'success',
          ...attempt,
          message: created ? `created ${externalId}` : `found existing ${externalId} from an earlier attempt`,
        },
        { type: 'status_change', outcome: 'synced', message: 'syncing → synced' },
      ]);
      this.logger.log({ routingId: routing.id, externalId, created, durationMs: attempt.durationMs }, 'Routing synced');
      return 'synced';
    });
  }

  private async recordFailure(
    routing: ClaimedRouting,
    error: unknown,
    attempt: { httpStatus: number | null; durationMs: number; requestId?: string },
  ): Promise<SyncOutcome> {
    const decision = decideAfterFailure({
      error,
      attempts: routing.attempts,
      maxAttempts: this.config.maxSyncAttempts,
      baseDelayMs: this.config.retryBaseDelayMs,
      maxDelayMs: this.config.retryMaxDelayMs,
      now: new Date(),
    });
    const outcome = decision.status === 'failed' ? 'retry' : 'failed';
    this.observe(routing.providerType, outcome, attempt.durationMs);
    const attemptEvent: EventRow = {
      type: 'sync_attempt',
      outcome: error instanceof ProviderError && !error.retryable ? 'permanent_error' : 'retryable_error',
      httpStatus: attempt.httpStatus,
      durationMs: attempt.durationMs,
      message: decision.lastError,
    };
    const result = await this.db.transaction(async (m) => {
      if (decision.status === 'failed') {
        const [, affected] = (await m.query(
          `UPDATE routings SET status = 'failed', next_retry_at = $3, last_error = $4, claim_token = NULL,
                  attempts = attempts - $5, status_changed_at = now(), updated_at = now()
            WHERE id = $1 AND status = 'syncing' AND claim_token = $2`,
          [routing.id, routing.claimToken, decision.nextRetryAt, decision.lastError, decision.countsAsAttempt ? 0 : 1],
        )) as [unknown, number];
        if (!affected) return this.claimLost(routing);
        await this.addEvents(m, routing.id, [
          attemptEvent,
          {
            type: 'retry_scheduled',
            outcome: 'failed',
            message: `next attempt at ${decision.nextRetryAt.toISOString()}`,
          },
        ]);
        return 'retry_scheduled' as const;
      }
      const [, affected] = (await m.query(
        `UPDATE routings SET status = 'permanently_failed', next_retry_at = NULL, last_error = $3, claim_token = NULL,
                status_changed_at = now(), updated_at = now()
          WHERE id = $1 AND status = 'syncing' AND claim_token = $2`,
        [routing.id, routing.claimToken, decision.lastError],
      )) as [unknown, number];
      if (!affected) return this.claimLost(routing);
      await this.addEvents(m, routing.id, [
        attemptEvent,
        { type: 'status_change', outcome: 'permanently_failed', message: decision.lastError },
      ]);
      await refreshJobAggregates(m, [routing.jobId]);
      return 'permanently_failed' as const;
    });
    if (result === 'retry_scheduled' && decision.status === 'failed') {
      // Precise timing for the retry; the retry sweep is the safety net if this enqueue is lost.
      await this.enqueueRetry(routing.id, decision.nextRetryAt).catch((err: Error) =>
        this.logger.warn(
          { routingId: routing.id, err: err.message },
          'Could not enqueue the delayed retry; the retry sweep will',
        ),
      );
    }
    return result;
  }

  private claimLost(routing: ClaimedRouting): 'claim_lost' {
    // Cleanup rescued this routing from a presumed-dead attempt; this late result is dropped.
    this.logger.warn({ routingId: routing.id }, 'Sync result dropped: the routing was reclaimed meanwhile');
    return 'claim_lost';
  }

  private async addEvents(m: EntityManager, routingId: string, events: EventRow[]): Promise<void> {
    const values = events.flatMap((e) => [
      routingId,
      e.type,
      e.outcome,
      e.httpStatus ?? null,
      e.durationMs ?? null,
      e.message ?? null,
    ]);
    const placeholders = events.map(
      (_, i) => `($${i * 6 + 1}, $${i * 6 + 2}, $${i * 6 + 3}, $${i * 6 + 4}, $${i * 6 + 5}, $${i * 6 + 6})`,
    );
    await m.query(
      `INSERT INTO routing_events (routing_id, type, outcome, http_status, duration_ms, message) VALUES ${placeholders.join(', ')}`,
      values,
    );
  }

  private observe(provider: ProviderType, outcome: string, durationMs: number): void {
    this.syncCounter.inc({ provider, outcome });
    this.syncDuration.observe({ provider }, durationMs / 1000);
  }
}
