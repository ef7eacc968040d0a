import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import { Queue } from 'bullmq';

import { withDeadline } from '../redis/deadline';
import { assertQueueConnected } from './queue-stats';
import { PRIORITY, QUEUE, syncJob } from './queues';

// An enqueue that cannot reach Redis gives up quickly: the routing is already safe in PostgreSQL
// and the sync sweep will enqueue it, so the API must not hang on a Redis outage.
const ENQUEUE_TIMEOUT_MS = 2000;

@Injectable()
export class SyncProducer {
  private readonly logger = new Logger(SyncProducer.name);

  constructor(@InjectQueue(QUEUE.sync) private readonly syncQueue: Queue) {}

  /** Adds one sync job per routing (jobId = routing id); returns false when Redis did not take them. */
  async enqueue(routingIds: string[], options: { priority?: number; requestId?: string } = {}): Promise<boolean> {
    if (!routingIds.length) return true;
    const jobs = routingIds.map((id) => syncJob(id, options.priority ?? PRIORITY.medium, options.requestId));
    try {
      // Not connected: skip at once rather than queue commands in memory until Redis is back.
      await assertQueueConnected(this.syncQueue, ENQUEUE_TIMEOUT_MS);
      await withDeadline(this.syncQueue.addBulk(jobs), ENQUEUE_TIMEOUT_MS);
      return true;
    } catch (error) {
      this.logger.warn(
        { err: (error as Error).message, routings: routingIds.length },
        'Sync enqueue failed; the sync sweep will pick these up',
      );
      return false;
    }
  }
}
