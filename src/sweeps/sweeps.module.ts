import { Module } from '@nestjs/common';

import { PollingModule } from '../polling/polling.module';
import { SyncModule } from '../sync/sync.module';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { SweepsService } from './sweeps.service';

/** The sweeps' bodies and their trigger, shared by the admin API and the worker's crons. */
@Module({
  imports: [SyncModule, PollingModule, WebhooksModule],
  providers: [SweepsService],
  exports: [SweepsService],
})
export class SweepsModule {}
