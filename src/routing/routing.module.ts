import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';

import { SyncModule } from '../sync/sync.module';
import { RoutingEvent } from './routing-event.entity';
import { Routing } from './routing.entity';
import { RoutingsService } from './routings.service';

@Module({
  imports: [TypeOrmModule.forFeature([Routing, RoutingEvent]), SyncModule],
  providers: [RoutingsService],
  exports: [RoutingsService],
})
export class RoutingModule {}
