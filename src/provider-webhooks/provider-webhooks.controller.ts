import { Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBody,
  ApiExtraModels,
  ApiOperation,
  ApiParam,
  ApiProperty,
  ApiTags,
} from '@nestjs/swagger';
import { Request } from 'express';

import { Public } from '../auth/caller';
import { ApiProblems } from '../common/openapi';
import { ProviderWebhooksService } from './provider-webhooks.service';

class WebhookReceivedResponse {
  @ApiProperty({ description: 'Events queued: the status of their routings is read from the provider now' })
  accepted: number;
  @ApiProperty({ description: 'Events already received within the last minutes (providers deliver at least once)' })
  duplicate: number;
  @ApiProperty({ description: 'Events about records no synced routing tracks, or of types not read' })
  ignored: number;
}

type RawRequest = Request & { id?: string; body: unknown };

const BODY = {
  description: "The provider's own webhook payload (JSON); the raw bytes are what a signature covers",
  schema: { type: 'object' as const, additionalProperties: true },
};

/**
 * Inbound provider webhooks (SPEC section 10). No API key: a per-connection URL carries its secret token, an
 * app-level one is signed by the provider. Bodies reach these routes as raw bytes (app.factory.ts).
 */
@ApiTags('provider webhooks')
@ApiExtraModels(WebhookReceivedResponse)
@Public()
@Controller('webhooks')
export class ProviderWebhooksController {
  constructor(private readonly webhooks: ProviderWebhooksService) {}

  @Post(':provider')
  @HttpCode(202)
  @ApiOperation({
    operationId: 'receiveAppWebhook',
    summary: "A provider's app-level webhooks",
    description:
      'Jobber: `X-Jobber-Hmac-SHA256`, base64 HMAC-SHA256 of the raw body keyed by the app client secret. The events ' +
      "name their account; the named routings' status is re-read from the provider.",
  })
  @ApiParam({ name: 'provider', example: 'jobber' })
  @ApiBody(BODY)
  @ApiAcceptedResponse({ type: WebhookReceivedResponse })
  @ApiProblems(400, 401, 404, 413, 503)
  receiveForApp(@Param('provider') provider: string, @Req() req: RawRequest): Promise<WebhookReceivedResponse> {
    return this.webhooks.receive({ provider, ...raw(req) });
  }

  @Post(':provider/:connectionId/:token')
  @HttpCode(202)
  @ApiOperation({
    operationId: 'receiveConnectionWebhook',
    summary: "A connection's webhooks (its `webhookUrl`)",
    description:
      "Housecall Pro and ServiceTitan: the URL's token is the connection's secret. The named routings' status is " +
      're-read from the provider.',
  })
  @ApiParam({ name: 'provider', example: 'housecallpro' })
  @ApiParam({ name: 'connectionId', format: 'uuid' })
  @ApiParam({ name: 'token', description: "The connection's webhook token (part of its `webhookUrl`)" })
  @ApiBody(BODY)
  @ApiAcceptedResponse({ type: WebhookReceivedResponse })
  @ApiProblems(400, 401, 404, 413, 503)
  receiveForConnection(
    @Param('provider') provider: string,
    @Param('connectionId') connectionId: string,
    @Param('token') token: string,
    @Req() req: RawRequest,
  ): Promise<WebhookReceivedResponse> {
    return this.webhooks.receive({ provider, connection: { id: connectionId, token }, ...raw(req) });
  }
}

function raw(req: RawRequest) {
  return {
    rawBody: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
    headers: req.headers,
    requestId: req.id ? String(req.id) : undefined,
  };
}
