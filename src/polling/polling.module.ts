import { Module } from '@nestjs/common';

import { ConnectionsModule } from '../connections/connections.module';
import { RoutingModule } from '../routing/routing.module';
import { PollingService } from './polling.service';

@Module({
  imports: [ConnectionsModule, RoutingModule],
  providers: [PollingService],
  exports: [PollingService],
})
export class PollingModule {}
