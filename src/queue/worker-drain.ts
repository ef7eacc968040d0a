import { WorkerHost } from '@nestjs/bullmq';
import { BeforeApplicationShutdown, Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { Job, Worker } from 'bullmq';

import { watchQueueConnection } from '../redis/redis-connections';
import { readyClient } from './queue-stats';

const CONNECTED_CHECK_MS = 100;

export interface QueueJobRef {
  queue: string;
  queueJobId: string;
}

/** What a shutdown drained and what it left behind, for its closing log line. */
export interface DrainReport {
  /** Jobs this process was running when the shutdown began. */
  inFlightAtShutdown: number;
  /** Of those, the ones that finished (completed or failed) before the report. */
  drained: number;
  /** Jobs still running or not acknowledged to Redis: BullMQ's stalled check re-queues them, the sweeps redo the rest. */
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
  private readonly running = new Map<string, QueueJobRef>();
  private atShutdown: string[] | null = null;

  constructor(private readonly discovery: DiscoveryService) {}

  onModuleInit(): void {
    // The workers exist by now (BullModule registers them in its own onModuleInit, which runs first).
    for (const worker of this.workers()) {
      watchQueueConnection('worker', worker);
      const key = (job: Job) => `${worker.name}:${job.id}`;
      worker.on('active', (job) => this.running.set(key(job), { queue: worker.name, queueJobId: String(job.id) }));
      worker.on('completed', (job) => this.running.delete(key(job)));
      worker.on('failed', (job) => job && this.running.delete(key(job)));
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.atShutdown = [...this.running.keys()];
    await Promise.all(
      this.workers().map(async (worker) => {
        // With Redis down and nothing to wait for, closing politely would wait for Redis to come back.
        const idle = ![...this.running.values()].some((job) => job.queue === worker.name);
        await worker.close(idle && !(await readyClient(worker, CONNECTED_CHECK_MS)));
      }),
    );
  }

  report(): DrainReport {
    const atShutdown = this.atShutdown ?? [];
    return {
      inFlightAtShutdown: atShutdown.length,
      drained: atShutdown.filter((key) => !this.running.has(key)).length,
      left: [...this.running.values()],
    };
  }

  private workers(): Worker[] {
    return this.discovery
      .getProviders()
      .map((wrapper) => wrapper.instance as unknown)
      .filter((instance): instance is WorkerHost => instance instanceof WorkerHost)
      .map((host) => host.worker);
  }
}
