import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger, OnModuleInit } from '@nestjs/common';
import { Job } from 'bullmq';

import { AppConfig } from '../config/app-config';
import { withLogContext } from '../logging/log-context';
import { QUEUE, SyncRoutingData } from '../queue/queues';
import { SyncSlots } from './sync-slots';
import { SyncOutcome, SyncService } from './sync.service';

/** One sync attempt per job (thin: the routing row holds the state and the retry schedule). */
@Processor(QUEUE.sync)
export class SyncProcessor extends WorkerHost implements OnModuleInit {
  private readonly logger = new Logger(this.constructor.name);

  constructor(
    private readonly sync: SyncService,
    private readonly slots: SyncSlots,
    private readonly config: AppConfig,
  ) {
    super();
  }

  onModuleInit(): void {
    this.worker.concurrency = this.config.concurrency.sync;
  }

  process(job: Job<SyncRoutingData>): Promise<SyncOutcome> {
    // The task time limit (SPEC section 7) counts from when the job was queued, with a minute's grace for old jobs.
    const deadline = Math.max(job.timestamp + this.config.syncJobTimeoutMs, Date.now() + 60_000);
    const { routingId, requestId } = job.data;
    return withLogContext({ requestId, queue: job.queueName, queueJobId: job.id, routingId }, () =>
      this.slots.run(() => this.sync.syncRouting(routingId, { requestId, deadline })),
    );
  }

  @OnWorkerEvent('failed')
  onFailed(job: Job<SyncRoutingData> | undefined, error: Error): void {
    // The routing stays claimed; the cleanup sweep rescues it after the stale timeout.
    this.logger.error(
      { queue: job?.queueName, queueJobId: job?.id, routingId: job?.data.routingId, err: error.message },
      'Sync job failed',
    );
  }
}

/** Retries (delayed per routing, or re-enqueued by the retry sweep) run at high priority on their own queue. */
@Processor(QUEUE.retry)
export class RetryProcessor extends SyncProcessor {
  // Declared again so Nest sees this class's own constructor parameters.
  constructor(sync: SyncService, slots: SyncSlots, config: AppConfig) {
    super(sync, slots, config);
  }
}
