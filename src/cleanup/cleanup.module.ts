import { Module } from '@nestjs/common';

import { AuditModule } from '../audit/audit.module';
import { JobsModule } from '../jobs/jobs.module';
import { RoutingModule } from '../routing/routing.module';
import { CleanupService } from './cleanup.service';

@Module({
  imports: [AuditModule, JobsModule, RoutingModule],
  providers: [CleanupService],
  exports: [CleanupService],
})
export class CleanupModule {}
