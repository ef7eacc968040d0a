import { applyDecorators, Controller, Get, HttpStatus, Param, UseFilters } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProperty,
  ApiPropertyOptional,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorFunction, TypeOrmHealthIndicator } from '@nestjs/terminus';

import { Public } from '../auth/caller';
import { DomainError } from '../common/errors';
import { ApiPublicProblems } from '../common/openapi';
import { AppConfig } from '../config/app-config';
import { runsWorker } from '../config/app-mode';
import { ProvidersHealthIndicator, QueuesHealthIndicator, SystemHealthIndicator } from './components.health';
import { HealthReportFilter } from './health-report.filter';
import { RedisHealthIndicator } from './redis.health';

const CHECK_TIMEOUT_MS = 2000;
const COMPONENTS = ['database', 'redis', 'queues', 'providers', 'system'] as const;
type Component = (typeof COMPONENTS)[number];

// Components by name; each may carry more than its status (queues, providers and system report figures).
const INDICATORS = {
  type: 'object' as const,
  additionalProperties: {
    type: 'object',
    required: ['status'],
    properties: { status: { type: 'string', enum: ['up', 'down'] } },
    additionalProperties: true,
  },
  example: { database: { status: 'up' }, redis: { status: 'up' } },
};

/** Terminus's report; each component may carry more fields than `status` (queues, providers, system). */
class HealthReport {
  @ApiProperty({ enum: ['ok', 'error', 'shutting_down'], example: 'ok' }) status: string;
  @ApiPropertyOptional({ ...INDICATORS, description: 'Components that are up' }) info?: object;
  @ApiPropertyOptional({ ...INDICATORS, description: 'Components that are down' }) error?: object;
  @ApiProperty({ ...INDICATORS, description: 'Every component checked' }) details: object;
}

/** One health check: its report with 200 when everything checked is up, else 503. */
function ApiHealth(operation: { operationId: string; summary: string; description: string }) {
  return applyDecorators(
    HealthCheck({ noCache: true, swaggerDocumentation: false }),
    ApiOperation(operation),
    ApiOkResponse({ type: HealthReport, description: 'Everything checked is up' }),
    ApiServiceUnavailableResponse({ type: HealthReport, description: 'A component is down (named in `error`)' }),
  );
}

@ApiTags('health')
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
  @ApiHealth({
    operationId: 'getLiveness',
    summary: 'Liveness probe',
    description: 'The process answers. No dependency is checked, so a database outage never restarts pods.',
  })
  @ApiPublicProblems()
  live() {
    return this.health.check([]);
  }

  /** Readiness: PostgreSQL answers, and Redis too in the modes that run workers (`worker`, `all`). */
  @Get('ready')
  @ApiHealth({
    operationId: 'getReadiness',
    summary: 'Readiness probe',
    description:
      'PostgreSQL answers, and Redis too where the process runs workers (`worker` and `all` modes), each within 2 s. ' +
      'An `api` process stays ready during a Redis outage: it keeps accepting jobs.',
  })
  @ApiPublicProblems()
  ready() {
    return this.health.check(this.readiness);
  }

  /** Every component; 503 when any is down. */
  @Get()
  @ApiHealth({
    operationId: 'getHealth',
    summary: 'Health of every component',
    description: 'Database, Redis, queues (depth, workers, oldest waiting job), providers (recent calls), system.',
  })
  @ApiPublicProblems()
  all() {
    return this.health.check(COMPONENTS.map((name) => this.checks[name]));
  }

  @Get('component/:name')
  @ApiParam({ name: 'name', enum: COMPONENTS })
  @ApiHealth({
    operationId: 'getComponentHealth',
    summary: 'Health of one component',
    description: 'The drill-down of `GET /api/health` for one component.',
  })
  @ApiPublicProblems(404)
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
