import { EventEmitter } from 'node:events';

import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Queue } from 'bullmq';
import { CronJob } from 'cron';

import { AppConfig } from '../config/app-config';
import { QUEUE, SWEEP_NAMES, SweepName } from '../queue/queues';
import { SweepsService } from './sweeps.service';

/**
 * The sweep crons (UTC), registered only in worker mode. Each tick only enqueues; a short Redis
 * lock in SweepsService.triggerFromCron makes a tick run once per cluster however many replicas fire.
 * When Redis comes back after an outage, the sync and retry sweeps run at once: the API kept accepting
 * jobs meanwhile without enqueueing them, and they should not wait for the next tick.
 */
@Injectable()
export class SweepsScheduler implements OnApplicationBootstrap {
  private readonly logger = new Logger(SweepsScheduler.name);

  constructor(
    private readonly sweeps: SweepsService,
    private readonly registry: SchedulerRegistry,
    private readonly config: AppConfig,
    @InjectQueue(QUEUE.default) private readonly defaultQueue: Queue,
  ) {}

  onApplicationBootstrap(): void {
    let redisLost = false;
    const connection = this.defaultQueue.getBackend() as unknown as EventEmitter;
    // Even a short blip counts: the API skipped enqueueing while the connection was not up.
    connection.on('close', () => (redisLost = true));
    connection.on('ready', () => {
      if (!redisLost) return;
      redisLost = false;
      // Every worker does this (no tick lock: the shared connection may not be back yet); a routing
      // enqueued twice is still one job (its id is the routing id).
      void this.runNow('sync');
      void this.runNow('retry');
    });

    for (const name of SWEEP_NAMES) {
      const job = CronJob.from({
        cronTime: this.config.cron[name],
        timeZone: 'UTC',
        onTick: () => void this.tick(name),
      });
      this.registry.addCronJob(`sweep-${name}`, job);
      job.start();
    }
  }

  private async runNow(name: SweepName): Promise<void> {
    try {
      await this.sweeps.trigger(name);
    } catch (error) {
      this.logger.warn(
        { sweep: name, err: (error as Error).message },
        'Sweep after a Redis outage failed; the cron will run it',
      );
    }
  }

  private async tick(name: SweepName): Promise<void> {
    try {
      const sweepId = await this.sweeps.triggerFromCron(name);
      if (sweepId) this.logger.debug({ sweep: name, sweepId }, 'Sweep triggered');
    } catch (error) {
      this.logger.warn(
        { sweep: name, err: (error as Error).message },
        'Sweep trigger failed; the next tick will try again',
      );
    }
  }
}
