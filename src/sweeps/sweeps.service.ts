import { randomUUID } from 'node:crypto';

import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Job, Queue } from 'bullmq';
import Redis from 'ioredis';
import { Counter } from 'prom-client';
import { DataSource } from 'typeorm';

import { Actor } from '../audit/actor';
import { recordAuditEvent } from '../audit/audit';
import { AppConfig } from '../config/app-config';
import { METRIC } from '../metrics/metrics';
import { PollingService } from '../polling/polling.service';
import { assertQueueConnected } from '../queue/queue-stats';
import { JOB, PRIORITY, PollConnectionData, QUEUE, RunSweepData, SweepName, syncJob } from '../queue/queues';
import { REDIS_DEADLINE_MS, withDeadline } from '../redis/deadline';
import { REDIS } from '../redis/redis.module';
import { SyncService } from '../sync/sync.service';
import { WebhookDispatcher } from '../webhooks/webhook-dispatcher';

// Replicas fire the same cron within moments of each other; the first one takes the tick.
const TICK_LOCK_MS = 5_000;
// Outbound deliveries whose queue job was lost, re-queued per webhooks sweep.
const WEBHOOK_SWEEP_BATCH = 1000;

/**
 * Sweeps only enqueue work. A trigger (cron or admin API) adds one `run-sweep` job to the default
 * queue; its processor selects the due rows and enqueues one job per routing or company.
 */
@Injectable()
export class SweepsService {
  private readonly logger = new Logger(SweepsService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly config: AppConfig,
    private readonly sync: SyncService,
    private readonly polling: PollingService,
    private readonly webhooks: WebhookDispatcher,
    @InjectQueue(QUEUE.default) private readonly defaultQueue: Queue,
    @InjectQueue(QUEUE.sync) private readonly syncQueue: Queue,
    @InjectQueue(QUEUE.poll) private readonly pollQueue: Queue,
    @InjectQueue(QUEUE.cleanup) private readonly cleanupQueue: Queue,
    @InjectMetric(METRIC.sweepRuns) private readonly sweepRuns: Counter,
  ) {}

  /** Cron path: at most one trigger per sweep per tick across the cluster. */
  async triggerFromCron(name: SweepName): Promise<string | null> {
    const acquired = await this.redis.set(`sweep-tick:${name}`, '1', 'PX', TICK_LOCK_MS, 'NX').catch(() => null);
    if (acquired !== 'OK') return null;
    return this.trigger(name);
  }

  /**
   * Enqueues one run of the sweep; used by the cron and by `POST /api/admin/sweeps/:name/run`. A run someone asked
   * for is an audit event of `actor`, committed only once the run is queued; should the commit fail, the queued run
   * is taken back (a run a worker already started is harmless: it does what the next cron tick would). While Redis
   * is down this fails within the Redis deadline (503) instead of waiting for it.
   */
  async trigger(name: SweepName, actor?: Actor): Promise<string> {
    const sweepId = randomUUID();
    await assertQueueConnected(this.defaultQueue, REDIS_DEADLINE_MS);
    const enqueue = () =>
      withDeadline(
        this.defaultQueue.add(
          JOB.runSweep,
          { name, sweepId, requestId: actor?.requestId ?? undefined } satisfies RunSweepData,
          {
            jobId: `sweep_${name}_${sweepId}`,
            priority:
              name === 'retry'
                ? PRIORITY.high
                : name === 'sync' || name === 'webhooks'
                  ? PRIORITY.medium
                  : PRIORITY.low,
            removeOnComplete: { count: 100 },
            removeOnFail: { count: 100 },
          },
        ),
        REDIS_DEADLINE_MS,
      );
    if (!actor) {
      await enqueue();
      return sweepId;
    }
    let queued: Job | undefined;
    try {
      await this.db.transaction(async (m) => {
        await recordAuditEvent(m, {
          actor,
          action: 'sweep.triggered',
          resourceType: 'sweep',
          resourceId: sweepId,
          changes: { name: { old: null, new: name } },
        });
        queued = await enqueue();
      });
    } catch (error) {
      await queued?.remove().catch(() => undefined);
      throw error;
    }
    return sweepId;
  }

  /** The body of a sweep: select due rows, enqueue their work. Returns how many jobs were enqueued. */
  async run(data: RunSweepData): Promise<number> {
    try {
      const enqueued = await this.enqueueWork(data);
      this.sweepRuns.inc({ name: data.name, outcome: 'success' });
      this.logger.log({ sweep: data.name, sweepId: data.sweepId, requestId: data.requestId, enqueued }, 'Sweep ran');
      return enqueued;
    } catch (error) {
      this.sweepRuns.inc({ name: data.name, outcome: 'error' });
      throw error;
    }
  }

  private async enqueueWork({ name, sweepId }: RunSweepData): Promise<number> {
    switch (name) {
      case 'sync': {
        const ids = await this.sync.pendingRoutingIds(this.config.batchSize.sync);
        await this.syncQueue.addBulk(ids.map((id) => syncJob(id, PRIORITY.medium)));
        return ids.length;
      }
      case 'retry': {
        const due = await this.sync.dueRetries(this.config.batchSize.retry);
        for (const routing of due) await this.sync.enqueueRetry(routing.id, routing.nextRetryAt);
        return due.length;
      }
      case 'poll': {
        const connections = await this.polling.connectionsToPoll();
        await this.pollQueue.addBulk(
          connections.map((connectionId) => ({
            name: JOB.pollConnection,
            data: { connectionId, sweepId } satisfies PollConnectionData,
            opts: { jobId: `poll_${connectionId}_${sweepId}`, priority: PRIORITY.low },
          })),
        );
        return connections.length;
      }
      case 'cleanup':
        await this.cleanupQueue.add(
          JOB.runCleanup,
          { sweepId },
          { jobId: `cleanup_${sweepId}`, priority: PRIORITY.low },
        );
        return 1;
      case 'webhooks':
        return this.webhooks.requeueDue(WEBHOOK_SWEEP_BATCH);
    }
  }
}
