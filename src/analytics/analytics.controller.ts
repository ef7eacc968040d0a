import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';

import { Caller, CurrentCaller, Roles } from '../auth/caller';
import { ApiProblems } from '../common/openapi';
import { UuidPipe } from '../common/uuid.pipe';
import { AnalyticsService } from './analytics.service';
import { FunnelQuery, RangeQuery } from './dto/analytics.query';
import { FunnelResponse, ReferrerMonthsResponse } from './dto/analytics.response';

@ApiTags('analytics')
@ApiBearerAuth()
@Roles('admin', 'company')
@Controller('analytics')
export class AnalyticsController {
  constructor(private readonly analytics: AnalyticsService) {}

  @Get('funnel')
  @ApiOperation({
    summary: 'The referral funnel, grouped',
    description:
      'Routings created in [from, to) (UTC), archived ones included. A company key (or `companyId`) narrows it to ' +
      'the routings where that company is the referrer or the partner.',
  })
  @ApiOkResponse({ type: FunnelResponse })
  @ApiProblems(400, 401, 403, 422)
  funnel(@CurrentCaller() caller: Caller, @Query() query: FunnelQuery): Promise<FunnelResponse> {
    return this.analytics.funnel(caller, query);
  }

  @Get('referrers/:companyId')
  @ApiOperation({
    summary: 'A referrer’s credit by month',
    description: 'Jobs the company referred, completed and their revenue, by month of job creation (UTC).',
  })
  @ApiOkResponse({ type: ReferrerMonthsResponse })
  @ApiProblems(400, 401, 403, 404)
  referrer(
    @CurrentCaller() caller: Caller,
    @Param('companyId', new UuidPipe('companyId')) companyId: string,
    @Query() query: RangeQuery,
  ): Promise<ReferrerMonthsResponse> {
    return this.analytics.referrerMonths(caller, companyId, query);
  }
}
