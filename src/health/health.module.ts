import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';

import { ProvidersHealthIndicator, QueuesHealthIndicator, SystemHealthIndicator } from './components.health';
import { HealthController } from './health.controller';
import { ProviderCallStats } from './provider-call-stats';
import { RedisHealthIndicator } from './redis.health';

/** Health endpoints are served in every mode (k8s probes hit API and worker pods alike). */
@Global()
@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'pretty', logger: false })],
  controllers: [HealthController],
  providers: [
    RedisHealthIndicator,
    QueuesHealthIndicator,
    ProvidersHealthIndicator,
    SystemHealthIndicator,
    ProviderCallStats,
  ],
  exports: [ProviderCallStats],
})
export class HealthModule {}
