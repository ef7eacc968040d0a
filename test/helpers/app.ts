import { INestApplication } from '@nestjs/common';
import Redis from 'ioredis';
import { DestinationStream } from 'pino';
import { collectDefaultMetrics, register } from 'prom-client';
import { DataSource } from 'typeorm';

import { createApp } from '../../src/app.factory';
import { AppConfig } from '../../src/config/app-config';
import { AppMode } from '../../src/config/app-mode';
import { RunningSandbox, startSandbox } from '../../src/sandbox/sandbox';
import { registerAppMode } from '../contract/contract-recorder';
import { SANDBOX_JOBBER_APP, TEST_ADMIN_KEY, TEST_DATABASE_URL, TEST_REDIS_URL } from '../test-env';

export interface TestApp {
  app: INestApplication;
  url: string;
  db: DataSource;
  config: AppConfig;
  sandbox: RunningSandbox;
  close(): Promise<void>;
}

/** Boots the real application (real PostgreSQL, Redis and the sandbox over HTTP) on a random port. */
export async function startTestApp(
  overrides: Record<string, string> = {},
  mode: AppMode = 'all',
  options: { logDestination?: DestinationStream } = {},
): Promise<TestApp> {
  const sandbox = await startSandbox({ port: 0, autoLifecycle: false });
  const config = AppConfig.from({
    NODE_ENV: 'test',
    APP_MODE: mode,
    PORT: '0',
    DATABASE_URL: TEST_DATABASE_URL,
    REDIS_URL: TEST_REDIS_URL,
    ADMIN_API_KEY: TEST_ADMIN_KEY,
    SANDBOX: 'false',
    SERVICETITAN_AUTH_URL: sandbox.url,
    SERVICETITAN_API_URL: sandbox.url,
    SERVICETITAN_APP_KEY: 'test-app-key',
    HOUSECALLPRO_API_URL: sandbox.url,
    JOBBER_API_URL: sandbox.url,
    JOBBER_CLIENT_ID: SANDBOX_JOBBER_APP.clientId,
    JOBBER_CLIENT_SECRET: SANDBOX_JOBBER_APP.clientSecret,
    LOG_LEVEL: 'silent',
    // Every test client is 127.0.0.1: the suites' deliberate wrong keys must not throttle each other.
    AUTH_FAILURE_LIMIT_PER_MINUTE: '10000',
    ...overrides,
  });
  // prom-client's registry is process-wide: each app registers its metrics anew (defaults included).
  register.clear();
  collectDefaultMetrics();
  const app = await createApp(config, options);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  registerAppMode(`http://127.0.0.1:${address.port}`, mode);
  return {
    app,
    url: `http://127.0.0.1:${address.port}`,
    db: app.get(DataSource),
    config,
    sandbox,
    async close() {
      await app.close();
      await sandbox.close();
    },
  };
}

/** Empties the Redis logical database the tests use (queues, rate-limit windows). */
export async function flushTestRedis(): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL);
  await redis.flushdb();
  await redis.quit();
}

/** Removes every row, keeping the schema (through the app's DataSource or a pg Client). */
export async function truncateAll(db: { query(sql: string): Promise<unknown> }): Promise<void> {
  await db.query(
    `TRUNCATE companies, technicians, connections, jobs, routings, routing_events, api_keys, idempotency_keys,
              archived_jobs, archived_routings, archived_routing_events, audit_events, analytics_routings,
              analytics_rollups, webhook_endpoints, webhook_events, webhook_deliveries, webhook_delivery_attempts
              RESTART IDENTITY CASCADE`,
  );
}
