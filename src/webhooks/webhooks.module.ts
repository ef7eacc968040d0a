import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';

import { CredentialsCipher } from '../connections/credentials-cipher';
import { WebhookDispatcher } from './webhook-dispatcher';
import { WebhookDeliveryAttempt, WebhookEndpoint } from './webhook-endpoint.entity';
import { WebhookEndpointsService } from './webhook-endpoints.service';
import { WebhookOutbox } from './webhook-outbox';
import { WebhookSender } from './webhook-sender';

/**
 * Outbound webhooks (SPEC section 11): the endpoints, the outbox the routing lifecycle writes into, and the
 * dispatcher that delivers from it. Mode-neutral: the controller and the processor are registered by the API and
 * worker modules.
 */
@Module({
  imports: [TypeOrmModule.forFeature([WebhookEndpoint, WebhookDeliveryAttempt])],
  providers: [CredentialsCipher, WebhookSender, WebhookDispatcher, WebhookOutbox, WebhookEndpointsService],
  exports: [WebhookOutbox, WebhookDispatcher, WebhookEndpointsService],
})
export class WebhooksModule {}
