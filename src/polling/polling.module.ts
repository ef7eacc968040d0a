import { Module } from '@nestjs/common';

import { CompaniesModule } from '../companies/companies.module';
import { ProvidersModule } from '../providers/providers.module';
import { SyncModule } from '../sync/sync.module';
import { PollingService } from './polling.service';

@Module({
  imports: [ProvidersModule, CompaniesModule, SyncModule],
  providers: [PollingService],
  exports: [PollingService],
})
export class PollingModule {}
