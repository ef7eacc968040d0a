import { AddressInfo } from 'node:net';

import { DataSource } from 'typeorm';

import { createApp } from './app.factory';
import { AppConfig } from './config/app-config';
import { runsApi } from './config/app-mode';
import { InvalidEnvironmentError } from './config/env';
import { ensureDatabase, runMigrations } from './database/ensure-database';
import type { RunningSandbox } from './sandbox/sandbox';
import { exitOnShutdownSignals } from './shutdown';

async function bootstrap(): Promise<void> {
  let config = AppConfig.fromProcessEnv();
  const notes: string[] = [];
  const warnings: string[] = [];
  let sandbox: RunningSandbox | undefined;
  if (config.startsSandbox) {
    // Imported only when embedded: a process pointed at another one's sandbox (or at real providers) never loads it.
    const { startSandbox } = await import('./sandbox/sandbox');
    sandbox = await startSandbox({ port: config.sandboxPort, autoLifecycle: true });
    config = AppConfig.fromProcessEnv({ sandboxUrl: sandbox.url });
    process.once('exit', () => void sandbox?.close());
    warnings.push(`embedded provider sandbox at ${sandbox.url}`);
  } else if (config.sandbox) {
    warnings.push(`providers use the sandbox of the API process on port ${config.sandboxPort}`);
  }
  if (config.usingDevAdminKey) warnings.push('ADMIN_API_KEY is not set: using the public development admin key');
  if (config.usingDevCredentialsKey) warnings.push('CREDENTIALS_KEY is not set: using the development credentials key');

  if (config.runMigrations) {
    await ensureDatabase(config.databaseUrl);
    const applied = await runMigrations(config.databaseUrl);
    notes.push(applied.length ? `migrations applied: ${applied.join(', ')}` : 'migrations: none pending');
  } else {
    notes.push('migrations: not run at start (RUN_MIGRATIONS=false)');
  }
  const app = await createApp(config);
  exitOnShutdownSignals(app, config.shutdownTimeoutMs);
  await app.listen(config.port);
  const logger = app.get(await import('nestjs-pino').then((m) => m.Logger));
  if (sandbox) {
    // The embedded sandbox sends its provider webhooks here: completions arrive within seconds.
    const [{ SandboxControl }, { SandboxWebhookWiring }, { ConnectionsService }] = await Promise.all([
      import('./sandbox/sandbox-control.client'),
      import('./sandbox/sandbox-webhook-wiring'),
      import('./connections/connections.service'),
    ]);
    const wiring = new SandboxWebhookWiring(
      new SandboxControl(sandbox.url),
      app.get(ConnectionsService),
      app.get(DataSource),
      config.publicBaseUrl,
    );
    await wiring.start();
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => wiring.stop());
  }
  for (const warning of warnings) logger.warn(warning, 'Bootstrap');
  for (const note of notes) logger.log(note, 'Bootstrap');
  const routes = runsApi(config.mode)
    ? 'API /api, Swagger UI /api/docs, OpenAPI /api/docs-json, Bull Board /admin/queues, health /api/health, metrics /metrics'
    : 'health /api/health, metrics /metrics';
  const { port } = app.getHttpServer().address() as AddressInfo;
  logger.log(`TradeEngage Integration Service (${config.mode} mode) listening on :${port}: ${routes}`, 'Bootstrap');
}

bootstrap().catch((error: Error) => {
  // A bad configuration names the variable and nothing else; other failures show their message only.
  console.error(error instanceof InvalidEnvironmentError ? error.message : `Startup failed: ${error.message}`);
  process.exit(1);
});
