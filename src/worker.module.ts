import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';

import { CleanupModule } from './cleanup/cleanup.module';
import { CleanupProcessor } from './cleanup/cleanup.processor';
import { PollingProcessor } from './polling/polling.processor';
import { WorkerDrain } from './queue/worker-drain';
import { SweepsProcessor } from './sync/sweeps.processor';
import { SweepsScheduler } from './sync/sweeps.scheduler';
import { SyncModule } from './sync/sync.module';
import { RetryProcessor, SyncProcessor } from './sync/sync.processor';

/** Queue processors and cron triggers: registered only when the process runs the worker (`worker` or `all`). */
@Module({
  imports: [ScheduleModule.forRoot(), DiscoveryModule, SyncModule, CleanupModule],
  providers: [
    SyncProcessor,
    RetryProcessor,
    PollingProcessor,
    CleanupProcessor,
    SweepsProcessor,
    SweepsScheduler,
    WorkerDrain,
  ],
})
export class WorkerModule {}
