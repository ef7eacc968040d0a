import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';

import { ApiPublicProblems } from '../common/openapi';
import { MetricsController } from './metrics.controller';

// The OpenAPI description of MetricsController, applied when the OpenAPI document is built (API modes and
// `npm run openapi`): the worker serves /metrics without loading Swagger.

const proto = MetricsController.prototype;
Reflect.decorate([ApiTags('metrics')], MetricsController);
Reflect.decorate(
  [
    ApiOperation({
      operationId: 'getMetrics',
      summary: 'Prometheus metrics',
      description: 'Prometheus text exposition 0.0.4, in every mode (README "Metrics" lists the series).',
    }),
    ApiProduces('text/plain'),
    ApiOkResponse({
      description: 'The metrics',
      content: { 'text/plain; version=0.0.4; charset=utf-8': { schema: { type: 'string' } } },
    }),
    ApiPublicProblems(),
  ],
  proto,
  'index',
  Object.getOwnPropertyDescriptor(proto, 'index'),
);
