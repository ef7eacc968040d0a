import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';

import { AnalyticsModule } from '../analytics/analytics.module';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { RoutingLifecycle } from './routing-lifecycle';
import { RoutingEvent } from './routing-event.entity';
import { Routing } from './routing.entity';
import { RoutingsService } from './routings.service';

@Module({
  imports: [TypeOrmModule.forFeature([Routing, RoutingEvent]), AnalyticsModule, WebhooksModule],
  providers: [RoutingLifecycle, RoutingsService],
  exports: [RoutingLifecycle, RoutingsService],
})
export class RoutingModule {}
