import { Module } from '@nestjs/common';

import { JobsModule } from '../jobs/jobs.module';
import { RoutingModule } from '../routing/routing.module';
import { CleanupService } from './cleanup.service';

@Module({
  imports: [JobsModule, RoutingModule],
  providers: [CleanupService],
  exports: [CleanupService],
})
export class CleanupModule {}
