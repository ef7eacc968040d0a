import { ChildProcess, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

import { createNetwork, jobBody } from '../factories/network.factory';
import { flushTestRedis } from '../helpers/app';
import { dropDatabase } from '../helpers/database';
import { apiClient } from '../helpers/http';
import { waitFor } from '../helpers/wait';
import { FAST_SYNC_ENV, TEST_ADMIN_KEY, TEST_DATABASE_URL, TEST_REDIS_URL } from '../test-env';

const ROOT = resolve(__dirname, '..', '..');
// A database of its own, created by the processes: both apply migrations at start, one after the other.
const DATABASE_URL = `${TEST_DATABASE_URL}_split`;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

interface Started {
  child: ChildProcess;
  log: () => string;
  port: Promise<number>;
}

/**
 * The README's split example: `APP_MODE=api` and `APP_MODE=worker` started side by side from `src/main.ts`, in
 * development defaults (sandbox on, migrations at start), as two real processes.
 */
describe('Split mode - an api and a worker process on one machine (README)', () => {
  const started: Started[] = [];
  let sandboxPort: number;

  function start(mode: 'api' | 'worker'): Started {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        ...FAST_SYNC_ENV,
        NODE_ENV: 'development',
        APP_MODE: mode,
        PORT: '0',
        SANDBOX_PORT: String(sandboxPort),
        DATABASE_URL: DATABASE_URL,
        REDIS_URL: TEST_REDIS_URL,
        ADMIN_API_KEY: TEST_ADMIN_KEY,
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const port = new Promise<number>((done, fail) => {
      const read = (chunk: Buffer) => {
        output += chunk.toString();
        const listening = /listening on :(\d+)/.exec(output);
        if (listening) done(Number(listening[1]));
      };
      child.stdout?.on('data', read);
      child.stderr?.on('data', read);
      child.once('exit', (code) => fail(new Error(`${mode} exited with ${code}:\n${output}`)));
    });
    const running = { child, log: () => output, port };
    started.push(running);
    return running;
  }

  beforeAll(async () => {
    await flushTestRedis();
    await dropDatabase(DATABASE_URL);
    sandboxPort = await freePort();
  });
  afterAll(async () => {
    for (const { child } of started) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((done) => child.once('exit', done));
        child.kill('SIGTERM');
        await exited;
      }
    }
    await dropDatabase(DATABASE_URL);
  });

  it('both start (one sandbox, migrations applied once), say where their routes are, and sync a referral', async () => {
    const api = start('api');
    const worker = start('worker');
    const [apiPort, workerPort] = await Promise.all([api.port, worker.port]);

    expect(api.log()).toContain(`embedded provider sandbox at http://127.0.0.1:${sandboxPort}`);
    expect(worker.log()).toContain(`providers use the sandbox of the API process on port ${sandboxPort}`);
    // Started together on an empty database: one applies every migration, the other waits for it and finds none.
    const reports = [api, worker].map(({ log }) => /migrations(?: applied)?: ([^"]*)"/.exec(log())?.[1]);
    const every = readdirSync(join(ROOT, 'migrations'))
      .filter((f) => f.endsWith('.ts'))
      .sort()
      .map((f) => f.replace(/^(\d+)-(\w+)\.ts$/, '$2$1'));
    expect(reports.sort()).toEqual([every.join(', '), 'none pending']);
    for (const { log } of [api, worker]) expect(log()).not.toMatch(/EADDRINUSE|\/api\/metrics/);
    expect(api.log()).toContain('API /api, Swagger UI /api/docs');
    expect(api.log()).toContain('metrics /metrics');
    expect(worker.log()).toContain('(worker mode) listening on');
    expect(worker.log()).toContain('health /api/health, metrics /metrics');

    for (const port of [apiPort, workerPort]) {
      const base = `http://127.0.0.1:${port}`;
      expect((await apiClient(base).get('/api/health/ready')).status).toBe(200);
      expect((await apiClient(base).get('/metrics')).status).toBe(200);
    }
    // The worker syncs what the API created, to the sandbox the API process runs.
    const admin = apiClient(`http://127.0.0.1:${apiPort}`, TEST_ADMIN_KEY);
    const { referrer, technician, targets } = await createNetwork(admin, 1);
    const job = await admin.post(
      '/api/jobs',
      jobBody(referrer.id, technician.id, { targetCompanyIds: [targets[0].id] }),
    );
    expect(job.status).toBe(201);
    const routingId = job.body.routings[0].id;
    await waitFor(async () => (await admin.get(`/api/routings/${routingId}`)).body.status === 'synced', {
      timeoutMs: 30_000,
      what: `routing ${routingId} to be synced by the worker process`,
    });
  }, 120_000);
});
