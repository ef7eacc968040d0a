import { Module } from '@nestjs/common';

import { CompaniesModule } from '../companies/companies.module';
import { ProvidersModule } from '../providers/providers.module';
import { ProviderCallHooksFactory } from './provider-call-hooks';
import { ProviderRateLimiter } from './provider-rate-limiter';
import { SyncProducer } from './sync.producer';
import { SyncService } from './sync.service';

@Module({
  imports: [ProvidersModule, CompaniesModule],
  providers: [SyncProducer, SyncService, ProviderRateLimiter, ProviderCallHooksFactory],
  exports: [SyncProducer, SyncService, ProviderRateLimiter, ProviderCallHooksFactory],
})
export class SyncModule {}
