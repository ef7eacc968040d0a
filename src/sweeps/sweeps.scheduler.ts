import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';

import { AppConfig } from '../config/app-config';
import { SWEEP_NAMES, SweepName } from '../queue/queues';
import { SweepsService } from './sweeps.service';

/**
 * The sweep crons (UTC), registered only in worker mode. Each tick only enqueues; a short Redis
 * lock in SweepsService.triggerFromCron makes a tick run once per cluster however many replicas fire.
 */
@Injectable()
export class SweepsScheduler implements OnApplicationBootstrap {
  private readonly logger = new Logger(SweepsScheduler.name);

  constructor(
    private readonly sweeps: SweepsService,
    private readonly registry: SchedulerRegistry,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
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
