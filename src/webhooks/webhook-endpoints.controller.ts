import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';

import { Actor, CurrentActor } from '../audit/actor';
import { Caller, CurrentCaller } from '../auth/caller';
import { ApiPage, ApiProblems } from '../common/openapi';
import { PageQuery } from '../common/page-query';
import { Page } from '../common/pagination';
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
  @ApiOperation({
    operationId: 'createWebhookEndpoint',
    summary: 'Subscribe an endpoint to outbound webhooks',
    description:
      'Standard Webhooks: every event is POSTed with `webhook-id`, `webhook-timestamp` and `webhook-signature`. An ' +
      "admin's endpoint receives every event; a company key's only `job.*` events of jobs its company created and " +
      '`routing.*` events of routings addressed to it. The `secret` is in this response only.',
  })
  @ApiCreatedResponse({ type: CreatedWebhookEndpointResponse, description: 'The `secret` is shown only here' })
  @ApiProblems(400, 401, 413, 415)
  create(@CurrentActor() actor: Actor, @Body() dto: CreateWebhookEndpointDto): Promise<CreatedWebhookEndpointResponse> {
    return this.endpoints.create(actor, dto);
  }

  @Get()
  @ApiOperation({
    operationId: 'listWebhookEndpoints',
    summary: 'List webhook endpoints',
    description: 'Newest first. A company key lists its own endpoints only.',
  })
  @ApiPage(WebhookEndpointResponse)
  @ApiProblems(400, 401)
  list(@CurrentCaller() caller: Caller, @Query() query: PageQuery): Promise<Page<WebhookEndpointResponse>> {
    return this.endpoints.list(caller, query);
  }

  @Get(':id')
  @ApiOperation({ operationId: 'getWebhookEndpoint', summary: 'Read a webhook endpoint' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({ type: WebhookEndpointResponse })
  @ApiProblems(400, 401, 404)
  get(@CurrentCaller() caller: Caller, @Param('id', uuid) id: string): Promise<WebhookEndpointResponse> {
    return this.endpoints.get(caller, id);
  }

  @Patch(':id')
  @ApiOperation({
    operationId: 'updateWebhookEndpoint',
    summary: 'Change, disable or enable a webhook endpoint',
    description: '`disabled` stops deliveries and cancels those still waiting; `enabled` resumes with new events.',
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({ type: WebhookEndpointResponse })
  @ApiProblems(400, 401, 404, 413, 415)
  update(
    @CurrentActor() actor: Actor,
    @Param('id', uuid) id: string,
    @Body() dto: UpdateWebhookEndpointDto,
  ): Promise<WebhookEndpointResponse> {
    return this.endpoints.update(actor, id, dto);
  }

  @Delete(':id')
  @ApiOperation({ operationId: 'deleteWebhookEndpoint', summary: 'Delete a webhook endpoint and its deliveries' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted with its deliveries; nothing more is sent to it' })
  @ApiProblems(400, 401, 404)
  async remove(@CurrentActor() actor: Actor, @Param('id', uuid) id: string): Promise<void> {
    await this.endpoints.remove(actor, id);
  }

  @Get(':id/deliveries')
  @ApiOperation({
    operationId: 'listWebhookDeliveries',
    summary: "An endpoint's delivery log",
    description:
      'One item per attempt, newest first: event, type, attempt number, outcome, HTTP status, duration, ' +
      'error and the next attempt when it will be retried.',
  })
  @ApiParam({ name: 'id', format: 'uuid' })
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
  @ApiOperation({
    operationId: 'redeliverWebhook',
    summary: 'Send an event to the endpoint again',
    description: 'Now, with a fresh retry schedule and the same `webhook-id` (receivers deduplicate on it).',
  })
  @ApiParam({ name: 'id', format: 'uuid', description: 'The endpoint' })
  @ApiParam({ name: 'deliveryId', format: 'uuid', description: 'A `deliveryId` of the delivery log' })
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
