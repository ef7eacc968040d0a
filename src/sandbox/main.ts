import { SANDBOX_PROVIDERS } from './providers';
import { startSandbox } from './sandbox';

/** Standalone provider sandbox (`npm run sandbox`), with auto-lifecycle on so referrals visibly progress. */
async function main(): Promise<void> {
  const port = Number(process.env.SANDBOX_PORT ?? 4010);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`SANDBOX_PORT must be a port number, got ${process.env.SANDBOX_PORT}`);
  }
  const sandbox = await startSandbox({ port, autoLifecycle: true });
  const names = SANDBOX_PROVIDERS.map((p) => p.name).join(', ');
  console.log(`Provider sandbox (${names}) listening on ${sandbox.url}`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`Provider sandbox stopping (${signal})`);
    sandbox.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((e: unknown) => {
  console.error('Provider sandbox failed to start:', e);
  process.exit(1);
});
