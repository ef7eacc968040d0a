import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';

import { CircuitBreaker } from '../providers/circuit-breaker';
import { ProvidersHealthIndicator, QueuesHealthIndicator, SystemHealthIndicator } from './components.health';
import { HealthController } from './health.controller';
import { ProviderCallStats } from './provider-call-stats';
import { RedisHealthIndicator } from './redis.health';

/**
 * Health endpoints are served in every mode (k8s probes hit API and worker pods alike). The provider
 * call statistics and the circuit breaker live here too: health and metrics read them in every mode,
 * and the workers' provider calls write them.
 */
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
    CircuitBreaker,
  ],
  exports: [ProviderCallStats, CircuitBreaker],
})
export class HealthModule {}
