import { Module } from '@nestjs/common';

import { RoutingModule } from '../routing/routing.module';
import { SyncSlots } from './sync-slots';
import { SyncService } from './sync.service';

@Module({
  imports: [RoutingModule],
  providers: [SyncService, SyncSlots],
  exports: [SyncService, SyncSlots],
})
export class SyncModule {}
