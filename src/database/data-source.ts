import { join } from 'node:path';

import { DataSourceOptions } from 'typeorm';

import { AuditEvent } from '../audit/audit-event.entity';
import { ApiKey } from '../auth/api-key.entity';
import { Company } from '../companies/company.entity';
import { Technician } from '../companies/technician.entity';
import { Connection } from '../connections/connection.entity';
import { IdempotencyKey } from '../jobs/idempotency-key.entity';
import { Job } from '../jobs/job.entity';
import { RoutingEvent } from '../routing/routing-event.entity';
import { Routing } from '../routing/routing.entity';
import { WebhookDeliveryAttempt, WebhookEndpoint } from '../webhooks/webhook-endpoint.entity';
import { SnakeNamingStrategy } from './snake-naming.strategy';

export const ENTITIES = [
  Company,
  Technician,
  Connection,
  Job,
  Routing,
  RoutingEvent,
  ApiKey,
  IdempotencyKey,
  WebhookEndpoint,
  WebhookDeliveryAttempt,
  AuditEvent,
];

/** The same options serve Nest, the migration runner and the TypeORM CLI. Never `synchronize`. */
export function dataSourceOptions(databaseUrl: string, poolSize = 10): DataSourceOptions {
  return {
    type: 'postgres',
    url: databaseUrl,
    entities: ENTITIES,
    // Compiled (.js) in production, .ts under ts-node and jest.
    migrations: [join(__dirname, '..', '..', 'migrations', '*.{ts,js}')],
    migrationsTableName: 'migrations',
    namingStrategy: new SnakeNamingStrategy(),
    synchronize: false,
    uuidExtension: 'pgcrypto',
    extra: { max: poolSize, application_name: 'tradeengage' },
  };
}
