import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';

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
  @ApiPage(RoutingResponse)
  @ApiProblems(400, 401, 403)
  list(@CurrentCaller() caller: Caller, @Query() query: ListRoutingsQuery): Promise<Page<RoutingResponse>> {
    return this.routings.list(caller, query);
  }

  @Get(':id')
  @ApiOkResponse({ type: RoutingWithEventsResponse })
  @ApiProblems(400, 401, 404)
  get(@CurrentCaller() caller: Caller, @Param('id', new UuidPipe()) id: string): Promise<RoutingWithEventsResponse> {
    return this.routings.get(caller, id);
  }

  @Post(':id/retry')
  @Roles('admin')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: RoutingResponse, description: 'Back to pending and queued at high priority' })
  @ApiProblems(400, 401, 403, 404, 409)
  retry(@Param('id', new UuidPipe()) id: string, @CurrentActor() actor: Actor): Promise<RoutingResponse> {
    return this.routings.retry(id, actor);
  }
}
