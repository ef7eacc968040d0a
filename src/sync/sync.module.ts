import { Module } from '@nestjs/common';

import { CompaniesModule } from '../companies/companies.module';
import { PollingService } from '../polling/polling.service';
import { ProvidersModule } from '../providers/providers.module';
import { ProviderCallHooksFactory } from './provider-call-hooks';
import { ProviderRateLimiter } from './provider-rate-limiter';
import { SweepsService } from './sweeps.service';
import { SyncProducer } from './sync.producer';
import { SyncService } from './sync.service';

@Module({
  imports: [ProvidersModule, CompaniesModule],
  providers: [SyncProducer, SyncService, ProviderRateLimiter, ProviderCallHooksFactory, SweepsService, PollingService],
  exports: [SyncProducer, SyncService, ProviderRateLimiter, SweepsService, PollingService],
})
export class SyncModule {}
