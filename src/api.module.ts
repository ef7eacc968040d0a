import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';

import { AdminController } from './admin/admin.controller';
import { AuditController } from './audit/audit.controller';
import { AuditModule } from './audit/audit.module';
import { BullBoardController } from './admin/bull-board.controller';
import { AnalyticsPageController } from './analytics/analytics-page.controller';
import { AnalyticsController } from './analytics/analytics.controller';
import { AnalyticsModule } from './analytics/analytics.module';
import { ApiKeyGuard } from './auth/api-key.guard';
import { ApiKeysController } from './auth/api-keys.controller';
import { AuthModule } from './auth/auth.module';
import { CompaniesController } from './companies/companies.controller';
import { CompaniesModule } from './companies/companies.module';
import { ConnectionsController } from './connections/connections.controller';
import { ConnectionsModule } from './connections/connections.module';
import { OAuthController } from './connections/oauth.controller';
import { OAuthModule } from './connections/oauth.module';
import { JobsController } from './jobs/jobs.controller';
import { JobsModule } from './jobs/jobs.module';
import { ProviderWebhooksController } from './provider-webhooks/provider-webhooks.controller';
import { ProviderWebhooksModule } from './provider-webhooks/provider-webhooks.module';
import { RoutingModule } from './routing/routing.module';
import { RoutingsController } from './routing/routings.controller';
import { SweepsModule } from './sweeps/sweeps.module';
import { WebhookEndpointsController } from './webhooks/webhook-endpoints.controller';
import { WebhooksModule } from './webhooks/webhooks.module';

/** The REST surface: registered only when the process runs the API (`api` or `all`). */
@Module({
  imports: [
    AnalyticsModule,
    AuditModule,
    AuthModule,
    CompaniesModule,
    ConnectionsModule,
    OAuthModule,
    JobsModule,
    RoutingModule,
    SweepsModule,
    WebhooksModule,
    ProviderWebhooksModule,
  ],
  controllers: [
    ApiKeysController,
    CompaniesController,
    ConnectionsController,
    OAuthController,
    JobsController,
    RoutingsController,
    AdminController,
    AuditController,
    WebhookEndpointsController,
    ProviderWebhooksController,
    BullBoardController,
    AnalyticsController,
    AnalyticsPageController,
  ],
  providers: [{ provide: APP_GUARD, useClass: ApiKeyGuard }],
})
export class ApiModule {}
