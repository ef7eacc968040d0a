import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';

import { WebhooksModule } from '../webhooks/webhooks.module';

import { RoutingLifecycle } from './routing-lifecycle';
import { RoutingEvent } from './routing-event.entity';
import { Routing } from './routing.entity';
import { RoutingsService } from './routings.service';

@Module({
  imports: [TypeOrmModule.forFeature([Routing, RoutingEvent]), WebhooksModule],
  providers: [RoutingLifecycle, RoutingsService],
  exports: [RoutingLifecycle, RoutingsService],
})
export class RoutingModule {}
