import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';

import { ConnectionsModule } from '../connections/connections.module';
import { CompaniesService } from './companies.service';
import { Company } from './company.entity';
import { Technician } from './technician.entity';

@Module({
  imports: [TypeOrmModule.forFeature([Company, Technician]), ConnectionsModule],
  providers: [CompaniesService],
  exports: [CompaniesService],
})
export class CompaniesModule {}
