import { Controller, Get, HttpStatus, Param, UseFilters } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorFunction, TypeOrmHealthIndicator } from '@nestjs/terminus';

import { Public } from '../auth/caller';
import { DomainError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { runsWorker } from '../config/app-mode';
import { ProvidersHealthIndicator, QueuesHealthIndicator, SystemHealthIndicator } from './components.health';
import { HealthReportFilter } from './health-report.filter';
import { RedisHealthIndicator } from './redis.health';

const CHECK_TIMEOUT_MS = 2000;
export const COMPONENTS = ['database', 'redis', 'queues', 'providers', 'system'] as const;
type Component = (typeof COMPONENTS)[number];

/** Each check's report is never cached; its OpenAPI description is in ./health.openapi (loaded by the API only). */
const healthCheck = () => HealthCheck({ noCache: true, swaggerDocumentation: false });

@Public()
@UseFilters(HealthReportFilter)
@Controller('health')
export class HealthController {
  private readonly checks: Record<Component, HealthIndicatorFunction>;
  private readonly readiness: HealthIndicatorFunction[];

  constructor(
    private readonly health: HealthCheckService,
    config: AppConfig,
    db: TypeOrmHealthIndicator,
    redis: RedisHealthIndicator,
    queues: QueuesHealthIndicator,
    providers: ProvidersHealthIndicator,
    system: SystemHealthIndicator,
  ) {
    // Every indicator has its own timeout, so one hung dependency cannot hang the probe.
    this.checks = {
      database: () => db.pingCheck('database', { timeout: CHECK_TIMEOUT_MS }),
      redis: () => redis.isHealthy('redis', CHECK_TIMEOUT_MS),
      queues: () => queues.isHealthy('queues', CHECK_TIMEOUT_MS),
      providers: () => providers.isHealthy('providers', CHECK_TIMEOUT_MS),
      system: () => system.isHealthy('system'),
    };
    // SPEC section 12: the API keeps accepting jobs while Redis is down (the sweeps enqueue them later),
    // so an API pod stays ready; a worker without Redis can do nothing and steps out.
    this.readiness = runsWorker(config.mode) ? [this.checks.database, this.checks.redis] : [this.checks.database];
  }

  /** Liveness: the process answers; no dependency is checked, so a database outage never restarts pods. */
  @Get('live')
  @healthCheck()
  live() {
    return this.health.check([]);
  }

  /** Readiness: PostgreSQL answers, and Redis too in the modes that run workers (`worker`, `all`). */
  @Get('ready')
  @healthCheck()
  ready() {
    return this.health.check(this.readiness);
  }

  /** Every component; 503 when any is down. */
  @Get()
  @healthCheck()
  all() {
    return this.health.check(COMPONENTS.map((name) => this.checks[name]));
  }

  @Get('component/:name')
  @healthCheck()
  component(@Param('name') name: string) {
    if (!(COMPONENTS as readonly string[]).includes(name)) {
      // The name is not echoed: it is whatever the client put in the path.
      throw new DomainError(
        HttpStatus.NOT_FOUND,
        'Not Found',
        `Unknown health component; one of ${COMPONENTS.join(', ')}`,
      );
    }
    return this.health.check([this.checks[name as Component]]);
  }
}
