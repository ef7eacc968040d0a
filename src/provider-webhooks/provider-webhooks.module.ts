import { Module } from '@nestjs/common';

import { ConnectionsModule } from '../connections/connections.module';
import { PollingModule } from '../polling/polling.module';
import { ProviderWebhooksService } from './provider-webhooks.service';

/** Inbound provider webhooks (SPEC section 10); the controller and the processor are registered by mode. */
@Module({
  imports: [ConnectionsModule, PollingModule],
  providers: [ProviderWebhooksService],
  exports: [ProviderWebhooksService],
})
export class ProviderWebhooksModule {}
