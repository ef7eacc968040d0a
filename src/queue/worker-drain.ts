import { WorkerHost } from '@nestjs/bullmq';
import { BeforeApplicationShutdown, Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { Worker } from 'bullmq';

import { watchQueueConnection } from '../redis/redis-connections';
import { readyClient } from './queue-stats';

const CONNECTED_CHECK_MS = 100;

export interface QueueJobRef {
  queue: string;
  queueJobId: string;
}

/** What a shutdown drained and what it left behind, for its closing log line. */
export interface DrainReport {
  /** Jobs this process was working on when the shutdown began. */
  inFlightAtShutdown: number;
  /** Of those, the ones whose work finished before the report. */
  drained: number;
  /** Jobs still being worked on: BullMQ's stalled check re-queues them, the sweeps redo the rest. */
  left: QueueJobRef[];
}

/**
 * The workers' lifecycle in this process. Watches each worker's Redis connections (one log line per
 * outage), and drains on shutdown (SPEC section 7): Nest closes each queue together with its own
 * workers, one module after another, so a worker still finishing a sync could find the retry queue,
 * Redis or the database already closed. Every worker is closed (waiting for its active jobs) before
 * any of them: beforeApplicationShutdown runs ahead of every onApplicationShutdown.
 */
@Injectable()
export class WorkerDrain implements OnModuleInit, BeforeApplicationShutdown {
  private atShutdown: QueueJobRef[] | null = null;

  constructor(private readonly discovery: DiscoveryService) {}

  onModuleInit(): void {
    // The workers exist by now (BullModule registers them in its own onModuleInit, which runs first).
    for (const worker of this.workers()) watchQueueConnection('worker', worker);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.atShutdown = this.processing();
    await Promise.all(
      this.workers().map(async (worker) => {
        // Idle with Redis down: a polite close would wait for Redis to come back, and there is nothing to wait for.
        const idle = processingIds(worker).length === 0;
        await worker.close(idle && !(await readyClient(worker, CONNECTED_CHECK_MS)));
      }),
    );
  }

  report(): DrainReport {
    const atShutdown = this.atShutdown ?? [];
    const left = this.processing();
    const key = (job: QueueJobRef) => `${job.queue}:${job.queueJobId}`;
    const stillThere = new Set(left.map(key));
    return {
      inFlightAtShutdown: atShutdown.length,
      drained: atShutdown.filter((job) => !stillThere.has(key(job))).length,
      left,
    };
  }

  private processing(): QueueJobRef[] {
    return this.workers().flatMap((worker) =>
      processingIds(worker).map((queueJobId) => ({ queue: worker.name, queueJobId })),
    );
  }

  private workers(): Worker[] {
    return this.discovery
      .getProviders()
      .map((wrapper) => wrapper.instance as unknown)
      .filter((instance): instance is WorkerHost => instance instanceof WorkerHost)
      .map((host) => host.worker);
  }
}

/**
 * The jobs whose processor is running in this worker. BullMQ's lock manager tracks each job from the
 * moment its processor starts until it returns (before the result is written to Redis, which may be
 * down); it has no public accessor on Worker, hence the cast (bullmq is pinned in package.json).
 */
function processingIds(worker: Worker): string[] {
  const locks = (worker as unknown as { lockManager?: { getTrackedJobIds(): string[] } }).lockManager;
  return locks?.getTrackedJobIds() ?? [];
}
