import { Module } from '@nestjs/common';

import { PollingModule } from '../polling/polling.module';
import { SyncModule } from '../sync/sync.module';
import { SweepsService } from './sweeps.service';

/** The four sweeps' bodies and their trigger, shared by the admin API and the worker's crons. */
@Module({
  imports: [SyncModule, PollingModule],
  providers: [SweepsService],
  exports: [SweepsService],
})
export class SweepsModule {}
