import { applyDecorators } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProperty,
  ApiPropertyOptional,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';

import { ApiPublicProblems } from '../common/openapi';
import { COMPONENTS, HealthController } from './health.controller';

// The OpenAPI description of HealthController, applied when the OpenAPI document is built (API modes and
// `npm run openapi`): the worker serves the same routes without loading Swagger.

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
    ApiOperation(operation),
    ApiOkResponse({ type: HealthReport, description: 'Everything checked is up' }),
    ApiServiceUnavailableResponse({ type: HealthReport, description: 'A component is down (named in `error`)' }),
  );
}

/** Applies method decorators as `@a @b method()` would (the last one first). */
function document(method: keyof HealthController, ...decorators: MethodDecorator[]): void {
  const proto = HealthController.prototype;
  Reflect.decorate(decorators, proto, method, Object.getOwnPropertyDescriptor(proto, method));
}

Reflect.decorate([ApiTags('health')], HealthController);
document(
  'live',
  ApiHealth({
    operationId: 'getLiveness',
    summary: 'Liveness probe',
    description: 'The process answers. No dependency is checked, so a database outage never restarts pods.',
  }),
  ApiPublicProblems(),
);
document(
  'ready',
  ApiHealth({
    operationId: 'getReadiness',
    summary: 'Readiness probe',
    description:
      'PostgreSQL answers, and Redis too where the process runs workers (`worker` and `all` modes), each within 2 s. ' +
      'An `api` process stays ready during a Redis outage: it keeps accepting jobs.',
  }),
  ApiPublicProblems(),
);
document(
  'all',
  ApiHealth({
    operationId: 'getHealth',
    summary: 'Health of every component',
    description: 'Database, Redis, queues (depth, workers, oldest waiting job), providers (recent calls), system.',
  }),
  ApiPublicProblems(),
);
document(
  'component',
  ApiParam({ name: 'name', enum: COMPONENTS }),
  ApiHealth({
    operationId: 'getComponentHealth',
    summary: 'Health of one component',
    description: 'The drill-down of `GET /api/health` for one component.',
  }),
  ApiPublicProblems(404),
);
