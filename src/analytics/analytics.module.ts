import { Module } from '@nestjs/common';

import { AnalyticsRollup } from './analytics-rollup';
import { AnalyticsService } from './analytics.service';

/** Referral analytics (SPEC section 13): the rollups the routing lifecycle keeps, and the reports read from them. */
@Module({
  providers: [AnalyticsRollup, AnalyticsService],
  exports: [AnalyticsRollup, AnalyticsService],
})
export class AnalyticsModule {}
