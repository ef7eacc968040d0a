import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Queue } from 'bullmq';
import { Counter, Histogram } from 'prom-client';
import { DataSource } from 'typeorm';

import { AppConfig } from '../config/app-config';
import { CircuitOpenError, ConnectionUnusableError } from '../connections/connection-errors';
import { METRIC } from '../metrics/metrics';
import { ProviderError } from '../providers/provider-error';
import { CallTrace, ProviderGateway } from '../providers/provider-gateway';
import { assertQueueConnected } from '../queue/queue-stats';
import { JOB, PRIORITY, QUEUE, SyncRoutingData } from '../queue/queues';
import { REDIS_DEADLINE_MS, withDeadline } from '../redis/deadline';
import { RoutingLifecycle, SyncClaim, SyncOutcome } from '../routing/routing-lifecycle';
import { decideAfterFailure } from './sync-decision';

export type { SyncOutcome } from '../routing/routing-lifecycle';

/**
 * Pushes one routing to its partner's provider: claim it, send it through its connection, record the outcome.
 * The routing lifecycle holds the state machine; the provider gateway makes the call.
 */
@Injectable()
export class SyncService {
  private readonly logger = new Logger(SyncService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly lifecycle: RoutingLifecycle,
    private readonly gateway: ProviderGateway,
    private readonly config: AppConfig,
    @InjectQueue(QUEUE.retry) private readonly retryQueue: Queue,
    @InjectMetric(METRIC.routingSync) private readonly syncCounter: Counter,
    @InjectMetric(METRIC.routingSyncDuration) private readonly syncDuration: Histogram,
  ) {}

  async syncRouting(routingId: string, options: { requestId?: string; deadline?: number } = {}): Promise<SyncOutcome> {
    const claim = await this.lifecycle.claim(routingId);
    if (!claim) return 'not_claimed';
    // Never past the time limit counted from this claim: cleanup treats the claim as abandoned soon after
    // (AppConfig.syncStaleAfterMs), and a still-running attempt could then race the retry at the provider.
    const deadline = Math.min(options.deadline ?? Number.POSITIVE_INFINITY, Date.now() + this.config.syncJobTimeoutMs);
    const started = Date.now();
    const trace: CallTrace = { lastHttpStatus: null, createSent: false };
    try {
      if (!claim.connection) throw new ConnectionUnusableError('the company has no active provider connection');
      const created = await this.gateway.createReferral(claim.connection, {
        referral: claim.referral,
        mayAlreadyExist: claim.mayAlreadyExist,
        requestId: options.requestId,
        deadline,
        trace,
      });
      const durationMs = Date.now() - started;
      this.observe(claim, 'synced', durationMs);
      const outcome = await this.lifecycle.recordSynced(claim, created, { ...attemptOf(trace), durationMs });
      if (outcome === 'synced') {
        this.logger.log(
          { routingId, externalId: created.externalId, created: created.created, durationMs },
          'Routing synced',
        );
      }
      return outcome;
    } catch (error) {
      return this.recordFailure(claim, error, { ...attemptOf(trace), durationMs: Date.now() - started }, options);
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

  /** Within the Redis deadline: a worker must not hang on a Redis outage (the retry sweep re-enqueues later). */
  async enqueueRetry(routingId: string, nextRetryAt: Date): Promise<void> {
    await assertQueueConnected(this.retryQueue, REDIS_DEADLINE_MS);
    await withDeadline(
      this.retryQueue.add(JOB.syncRouting, { routingId } satisfies SyncRoutingData, {
        // One job per scheduled retry: the delayed job and the retry sweep's for the same retry collapse into one.
        jobId: `retry_${routingId}_${nextRetryAt.getTime()}`,
        delay: Math.max(0, nextRetryAt.getTime() - Date.now()),
        priority: PRIORITY.high,
        removeOnComplete: true,
        removeOnFail: true,
      }),
      REDIS_DEADLINE_MS,
    );
  }

  private async recordFailure(
    claim: SyncClaim,
    error: unknown,
    attempt: { httpStatus: number | null; durationMs: number; createSent: boolean },
    options: { requestId?: string },
  ): Promise<SyncOutcome> {
    const decision = decideAfterFailure({
      error,
      attempts: claim.attempts,
      maxAttempts: this.config.maxSyncAttempts,
      baseDelayMs: this.config.retryBaseDelayMs,
      maxDelayMs: this.config.retryMaxDelayMs,
      now: new Date(),
    });
    this.observe(claim, decision.status === 'failed' ? 'retry' : 'failed', attempt.durationMs);
    const providerCaused =
      error instanceof ProviderError || error instanceof ConnectionUnusableError || error instanceof CircuitOpenError;
    const context = {
      routingId: claim.routingId,
      connectionId: claim.connection?.id,
      provider: claim.connection?.providerType,
      attempt: claim.attempts,
      outcome: decision.status,
      reason: decision.lastError,
    };
    if (error instanceof CircuitOpenError) this.logger.log(context, 'Sync attempt deferred: circuit open');
    else if (providerCaused) this.logger.warn(context, 'Sync attempt failed');
    else this.logger.error({ ...context, err: error }, 'Sync attempt failed inside the service');

    const kind =
      error instanceof CircuitOpenError
        ? ('deferred' as const)
        : error instanceof ConnectionUnusableError || (error instanceof ProviderError && !error.retryable)
          ? ('permanent_error' as const)
          : ('retryable_error' as const);
    const outcome = await this.lifecycle.recordSyncFailure(claim, decision, { ...attempt, kind });
    if (outcome === 'retry_scheduled' && decision.status === 'failed') {
      // Precise timing for the retry; the retry sweep is the safety net if this enqueue is lost.
      await this.enqueueRetry(claim.routingId, decision.nextRetryAt).catch((err: Error) =>
        this.logger.warn(
          { routingId: claim.routingId, err: err.message, requestId: options.requestId },
          'Could not enqueue the delayed retry; the retry sweep will',
        ),
      );
    }
    return outcome;
  }

  private observe(claim: SyncClaim, outcome: string, durationMs: number): void {
    const provider = claim.connection?.providerType ?? 'none';
    this.syncCounter.inc({ provider, outcome });
    this.syncDuration.observe({ provider }, durationMs / 1000);
  }
}

function attemptOf(trace: CallTrace) {
  return { httpStatus: trace.lastHttpStatus, createSent: trace.createSent };
}
