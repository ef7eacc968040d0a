import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';

import { Company } from '../companies/company.entity';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKey } from './api-key.entity';
import { ApiKeysService } from './api-keys.service';
import { AuthFailureThrottle } from './auth-failure-throttle';

@Module({
  imports: [TypeOrmModule.forFeature([ApiKey, Company])],
  providers: [ApiKeysService, ApiKeyGuard, AuthFailureThrottle],
  exports: [ApiKeysService, ApiKeyGuard, AuthFailureThrottle],
})
export class AuthModule {}
