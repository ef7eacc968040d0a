import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';

import { Caller, CurrentCaller } from '../auth/caller';
import { ApiPage, ApiProblems } from '../common/openapi';
import { Page, PageQuery } from '../common/pagination';
import { UuidPipe } from '../common/uuid.pipe';
import {
  CreateWebhookEndpointDto,
  CreatedWebhookEndpointResponse,
  ListDeliveriesQuery,
  RedeliveryResponse,
  UpdateWebhookEndpointDto,
  WebhookDeliveryAttemptResponse,
  WebhookEndpointResponse,
} from './dto/webhook-endpoint.dto';
import { WebhookEndpointsService } from './webhook-endpoints.service';

const uuid = new UuidPipe();

/** Admin, or a company key (then only its own endpoints, which receive only what the key may read). */
@ApiTags('webhook-endpoints')
@ApiBearerAuth()
@Controller('webhook-endpoints')
export class WebhookEndpointsController {
  constructor(private readonly endpoints: WebhookEndpointsService) {}

  @Post()
  @ApiCreatedResponse({ type: CreatedWebhookEndpointResponse, description: 'The `secret` is shown only here' })
  @ApiProblems(400, 401, 413, 415)
  create(
    @CurrentCaller() caller: Caller,
    @Body() dto: CreateWebhookEndpointDto,
  ): Promise<CreatedWebhookEndpointResponse> {
    return this.endpoints.create(caller, dto);
  }

  @Get()
  @ApiPage(WebhookEndpointResponse)
  @ApiProblems(400, 401)
  list(@CurrentCaller() caller: Caller, @Query() query: PageQuery): Promise<Page<WebhookEndpointResponse>> {
    return this.endpoints.list(caller, query);
  }

  @Get(':id')
  @ApiOkResponse({ type: WebhookEndpointResponse })
  @ApiProblems(400, 401, 404)
  get(@CurrentCaller() caller: Caller, @Param('id', uuid) id: string): Promise<WebhookEndpointResponse> {
    return this.endpoints.get(caller, id);
  }

  @Patch(':id')
  @ApiOkResponse({ type: WebhookEndpointResponse })
  @ApiProblems(400, 401, 404, 413, 415)
  update(
    @CurrentCaller() caller: Caller,
    @Param('id', uuid) id: string,
    @Body() dto: UpdateWebhookEndpointDto,
  ): Promise<WebhookEndpointResponse> {
    return this.endpoints.update(caller, id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted with its deliveries; nothing more is sent to it' })
  @ApiProblems(400, 401, 404)
  async remove(@CurrentCaller() caller: Caller, @Param('id', uuid) id: string): Promise<void> {
    await this.endpoints.remove(caller, id);
  }

  @Get(':id/deliveries')
  @ApiPage(WebhookDeliveryAttemptResponse)
  @ApiProblems(400, 401, 404)
  deliveries(
    @CurrentCaller() caller: Caller,
    @Param('id', uuid) id: string,
    @Query() query: ListDeliveriesQuery,
  ): Promise<Page<WebhookDeliveryAttemptResponse>> {
    return this.endpoints.attempts(caller, id, query);
  }

  @Post(':id/deliveries/:deliveryId/redeliver')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: RedeliveryResponse, description: 'Queued now, with the same `webhook-id`' })
  @ApiProblems(400, 401, 404, 409)
  redeliver(
    @CurrentCaller() caller: Caller,
    @Param('id', uuid) id: string,
    @Param('deliveryId', uuid) deliveryId: string,
  ): Promise<RedeliveryResponse> {
    return this.endpoints.redeliver(caller, id, deliveryId);
  }
}
