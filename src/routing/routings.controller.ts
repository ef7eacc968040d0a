import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';

import { Actor, CurrentActor } from '../audit/actor';
import { Caller, CurrentCaller, Roles } from '../auth/caller';
import { ApiPage, ApiProblems } from '../common/openapi';
import { Page } from '../common/pagination';
import { UuidPipe } from '../common/uuid.pipe';
import { ListRoutingsQuery } from './dto/list-routings.query';
import { RoutingResponse, RoutingWithEventsResponse } from './dto/routing.response';
import { RoutingsService } from './routings.service';

@ApiTags('routings')
@ApiBearerAuth()
@Controller('routings')
export class RoutingsController {
  constructor(private readonly routings: RoutingsService) {}

  @Get()
  @ApiOperation({
    operationId: 'listRoutings',
    summary: 'List routings',
    description: 'Newest first. A company key lists the routings addressed to its company.',
  })
  @ApiPage(RoutingResponse)
  @ApiProblems(400, 401, 403)
  list(@CurrentCaller() caller: Caller, @Query() query: ListRoutingsQuery): Promise<Page<RoutingResponse>> {
    return this.routings.list(caller, query);
  }

  @Get(':id')
  @ApiOperation({
    operationId: 'getRouting',
    summary: 'Read a routing with its event timeline',
    description:
      'Every sync attempt, poll and status change, oldest first. A company key reads routings addressed to it.',
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({ type: RoutingWithEventsResponse })
  @ApiProblems(400, 401, 404)
  get(@CurrentCaller() caller: Caller, @Param('id', new UuidPipe()) id: string): Promise<RoutingWithEventsResponse> {
    return this.routings.get(caller, id);
  }

  @Post(':id/retry')
  @Roles('admin')
  @HttpCode(202)
  @ApiOperation({
    operationId: 'retryRouting',
    summary: 'Retry a failed routing',
    description: 'A `failed` or `permanently_failed` routing goes back to `pending` and is synced again at once.',
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiAcceptedResponse({ type: RoutingResponse, description: 'Back to pending and queued at high priority' })
  @ApiProblems(400, 401, 403, 404, 409)
  retry(@Param('id', new UuidPipe()) id: string, @CurrentActor() actor: Actor): Promise<RoutingResponse> {
    return this.routings.retry(id, actor);
  }
}
