import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';

import { CleanupModule } from './cleanup/cleanup.module';
import { CleanupProcessor } from './cleanup/cleanup.processor';
import { PollingModule } from './polling/polling.module';
import { PollingProcessor } from './polling/polling.processor';
import { ProviderWebhookProcessor } from './provider-webhooks/provider-webhook.processor';
import { ProviderWebhooksModule } from './provider-webhooks/provider-webhooks.module';
import { WorkerDrain } from './queue/worker-drain';
import { SweepsProcessor } from './sweeps/sweeps.processor';
import { SweepsScheduler } from './sweeps/sweeps.scheduler';
import { SweepsModule } from './sweeps/sweeps.module';
import { SyncModule } from './sync/sync.module';
import { RetryProcessor, SyncProcessor } from './sync/sync.processor';
import { WebhookDeliveryProcessor } from './webhooks/webhook-delivery.processor';
import { WebhooksModule } from './webhooks/webhooks.module';

/** Queue processors and cron triggers: registered only when the process runs the worker (`worker` or `all`). */
@Module({
  imports: [
    ScheduleModule.forRoot(),
    DiscoveryModule,
    SyncModule,
    PollingModule,
    SweepsModule,
    CleanupModule,
    WebhooksModule,
    ProviderWebhooksModule,
  ],
  providers: [
    SyncProcessor,
    RetryProcessor,
    PollingProcessor,
    CleanupProcessor,
    SweepsProcessor,
    SweepsScheduler,
    WebhookDeliveryProcessor,
    ProviderWebhookProcessor,
    WorkerDrain,
  ],
})
export class WorkerModule {}
