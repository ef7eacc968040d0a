import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';

import { Company } from '../companies/company.entity';
import { Technician } from '../companies/technician.entity';
import { Routing } from '../routing/routing.entity';
import { RoutingModule } from '../routing/routing.module';
import { IdempotencyKey } from './idempotency-key.entity';
import { IdempotencyService } from './idempotency.service';
import { Job } from './job.entity';
import { JobsService } from './jobs.service';

@Module({
  imports: [TypeOrmModule.forFeature([Job, Routing, Company, Technician, IdempotencyKey]), RoutingModule],
  providers: [JobsService, IdempotencyService],
  exports: [JobsService, IdempotencyService],
})
export class JobsModule {}
