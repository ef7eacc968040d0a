import { DataSource } from 'typeorm';

import { createApp } from './app.factory';
import { AppConfig } from './config/app-config';
import { InvalidEnvironmentError } from './config/env';
import { ensureDatabase, runMigrations } from './database/ensure-database';
import { ConnectionsService } from './connections/connections.service';
import { RunningSandbox, startSandbox } from './sandbox/sandbox';
import { SandboxControl } from './sandbox/sandbox-control.client';
import { SandboxWebhookWiring } from './sandbox/sandbox-webhook-wiring';

async function bootstrap(): Promise<void> {
  let config = AppConfig.fromProcessEnv();
  const warnings: string[] = [];
  let sandbox: RunningSandbox | undefined;
  if (config.sandbox) {
    sandbox = await startSandbox({ port: config.sandboxPort, autoLifecycle: true });
    config = AppConfig.fromProcessEnv({ sandboxUrl: sandbox.url });
    process.once('exit', () => void sandbox?.close());
    warnings.push(`embedded provider sandbox at ${sandbox.url}`);
  }
  if (config.usingDevAdminKey) warnings.push('ADMIN_API_KEY is not set: using the public development admin key');
  if (config.usingDevCredentialsKey) warnings.push('CREDENTIALS_KEY is not set: using the development credentials key');

  if (config.runMigrations) {
    await ensureDatabase(config.databaseUrl);
    await runMigrations(config.databaseUrl);
  }
  const app = await createApp(config);
  await app.listen(config.port);
  const logger = app.get(await import('nestjs-pino').then((m) => m.Logger));
  if (sandbox) {
    // The embedded sandbox sends its provider webhooks here: completions arrive within seconds.
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
  logger.log(`TradeEngage Integration Service (${config.mode} mode) listening on :${config.port}`, 'Bootstrap');
}

bootstrap().catch((error: Error) => {
  // A bad configuration names the variable and nothing else; other failures show their message only.
  console.error(error instanceof InvalidEnvironmentError ? error.message : `Startup failed: ${error.message}`);
  process.exit(1);
});
