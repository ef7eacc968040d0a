import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

import { problemResponse } from '../common/openapi';
// The OpenAPI descriptions of the controllers every mode serves, kept out of the worker (which loads no Swagger).
import '../health/health.openapi';
import '../metrics/metrics.openapi';
import { AppConfig } from '../config/app-config';
import { describeProviders } from '../providers/provider-openapi';
import { toOpenApi31 } from './openapi-31';

const TAGS: [string, string][] = [
  ['jobs', 'Referral jobs: created by a referring company, routed to partner companies'],
  ['routings', 'One job sent to one company, synced with its field-service software'],
  ['companies', 'Trade companies, their technicians and their provider connection'],
  ['api-keys', 'API keys: `admin`, or `company` (one company, its own jobs)'],
  ['operations', 'Sweeps and queues, for operators (admin keys)'],
  ['health', 'Liveness, readiness and component health (public)'],
  ['metrics', 'Prometheus metrics (public)'],
];

const REQUEST_ID_HEADER = 'X-Request-Id';

/**
 * The OpenAPI 3.1 document of the API: what Swagger UI shows, `/api/docs-json` serves, `npm run lint:api` lints and
 * the contract tests validate every response against.
 */
export function buildOpenApiDocument(app: INestApplication, config: AppConfig): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setOpenAPIVersion('3.1.0')
    .setTitle('TradeEngage Integration Service')
    .setDescription(
      'Referral jobs routed to partner companies and synced with ServiceTitan and Housecall Pro.\n\n' +
        'Every request except health, metrics and the docs needs `Authorization: Bearer <API key>`. ' +
        'Errors are `application/problem+json` (RFC 9457) with a `requestId` and, for bad fields, every bad field ' +
        'in `errors`. Every response carries `X-Request-Id` (yours, if you sent one). Lists take `limit` and ' +
        '`cursor` and answer `{ items, nextCursor }`.',
    )
    .setVersion('1.0')
    .setLicense('Proprietary (TradeEngage)', 'https://tradeengage.dev/terms')
    .addServer('/', 'The server that serves this document')
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'API key',
      description: 'An API key from POST /api/api-keys',
    });
  for (const [name, description] of TAGS) builder.addTag(name, description);
  const document = SwaggerModule.createDocument(app, builder.build());
  return finishDocument(document, config);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a JSON document, walked generically
type Json = Record<string, any>;

/** What the decorators cannot say once for every operation, then the move from 3.0 to 3.1 schemas. */
function finishDocument(document: OpenAPIObject, config: AppConfig): OpenAPIObject {
  const components = (document.components ??= {}) as Json;
  components.headers = {
    ...components.headers,
    [REQUEST_ID_HEADER]: {
      description: "The request's id: the one sent in `X-Request-Id`, or a generated UUID. Also in logs and errors.",
      required: true,
      schema: { type: 'string', example: 'a3c2e1f0-5b7d-4c1e-9f3a-2b8d7e6c5a41' },
    },
    'Retry-After': {
      description: 'Seconds until the API key may send requests again',
      required: true,
      schema: { type: 'integer', minimum: 1, example: 12 },
    },
  };
  for (const item of Object.values(document.paths) as Json[]) {
    for (const [method, operation] of Object.entries(item) as [string, Json][]) {
      // Routes marked @Public() carry no bearer requirement: say so, rather than leave it unstated.
      operation.security ??= [];
      // Answered before any route: by Node's HTTP parser (malformed HTTP, a request head over 16 kB) and, for a
      // request with a body, by the JSON body parser (malformed, too large, an unsupported encoding).
      // 500: a fault of the service (never of the request), e.g. the database failing mid-transaction.
      for (const status of method === 'get' ? [400, 431, 500] : [400, 413, 415, 431, 500]) {
        operation.responses[status] ??= problemResponse(status);
      }
      for (const [status, response] of Object.entries(operation.responses as Json)) {
        response.headers = {
          [REQUEST_ID_HEADER]: { $ref: `#/components/headers/${REQUEST_ID_HEADER}` },
          ...(status === '429' ? { 'Retry-After': { $ref: '#/components/headers/Retry-After' } } : {}),
          ...response.headers,
        };
      }
    }
  }
  // The trade taxonomy is configuration (`TRADES`): the document lists this deployment's trades.
  if (components.schemas?.Trade) {
    components.schemas.Trade = {
      type: 'string',
      enum: [...config.trades],
      description: 'A trade of the taxonomy this deployment accepts (`TRADES`)',
    };
  }
  return toOpenApi31(describeProviders(document));
}
