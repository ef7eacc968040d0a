import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import { Queue } from 'bullmq';

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
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.syncQueue.addBulk(jobs),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`enqueue timed out after ${ENQUEUE_TIMEOUT_MS} ms`)),
            ENQUEUE_TIMEOUT_MS,
          );
        }),
      ]);
      return true;
    } catch (error) {
      this.logger.warn(
        { err: (error as Error).message, routings: routingIds.length },
        'Sync enqueue failed; the sync sweep will pick these up',
      );
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}
