import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';

import { ProvidersModule } from '../providers/providers.module';
import { CompaniesService } from './companies.service';
import { Company } from './company.entity';
import { CredentialsCipher } from './credentials-cipher';
import { Technician } from './technician.entity';

@Module({
  imports: [TypeOrmModule.forFeature([Company, Technician]), ProvidersModule],
  providers: [CompaniesService, CredentialsCipher],
  exports: [CompaniesService],
})
export class CompaniesModule {}
