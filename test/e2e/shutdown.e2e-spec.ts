import { ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

import { Queue } from 'bullmq';
import Redis from 'ioredis';

import { QUEUE } from '../../src/queue/queues';
import { SandboxControl } from '../../src/sandbox/sandbox-control.client';
import { createNetwork, jobBody } from '../factories/network.factory';
import { TestApp, flushTestRedis, startTestApp } from '../helpers/app';
import { ApiClient, apiClient } from '../helpers/http';
import { waitFor } from '../helpers/wait';
import { FAST_SYNC_ENV, TEST_ADMIN_KEY, TEST_DATABASE_URL, TEST_REDIS_URL } from '../test-env';

const ROOT = resolve(__dirname, '..', '..');

/**
 * SIGTERM of a real worker process (SPEC section 7: "SIGTERM drains in-flight work before exit"):
 * the API runs in this process, the worker is `src/main.ts` in its own process, as in production.
 */
describe('Worker shutdown on SIGTERM (separate process)', () => {
  let t: TestApp;
  let admin: ApiClient;
  let sandbox: SandboxControl;
  let worker: ChildProcess | undefined;
  let output = '';

  beforeAll(async () => {
    await flushTestRedis();
    t = await startTestApp(FAST_SYNC_ENV, 'api');
    admin = apiClient(t.url, TEST_ADMIN_KEY);
    sandbox = new SandboxControl(t.sandbox.url);
  });
  afterAll(async () => {
    if (worker?.pid && worker.exitCode === null && worker.signalCode === null) process.kill(worker.pid, 'SIGKILL');
    await t.close();
  });

  function startWorker(): ChildProcess {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        ...FAST_SYNC_ENV,
        NODE_ENV: 'test',
        APP_MODE: 'worker',
        PORT: '0',
        DATABASE_URL: TEST_DATABASE_URL,
        REDIS_URL: TEST_REDIS_URL,
        ADMIN_API_KEY: TEST_ADMIN_KEY,
        RUN_MIGRATIONS: 'false',
        SANDBOX: 'false',
        SERVICETITAN_AUTH_URL: t.sandbox.url,
        SERVICETITAN_API_URL: t.sandbox.url,
        SERVICETITAN_APP_KEY: 'test-app-key',
        HOUSECALLPRO_API_URL: t.sandbox.url,
        PROVIDER_TIMEOUT_MS: '5000',
        // The retry of the drained attempt must still be waiting in the retry queue when we look.
        RETRY_BASE_DELAY_MS: '60000',
        RETRY_MAX_DELAY_MS: '60000',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    return child;
  }

  it('finishes the attempt in flight, schedules its retry, and exits 0', async () => {
    // Every call takes 1.5 s and the booking lookup answers 503: the attempt is slow and ends in a retry.
    await sandbox.setFaults('servicetitan', { errorRate: 1, errorStatus: 503, latencyMs: 1500 });
    const { referrer, technician, targets } = await createNetwork(admin, 1);
    const created = await admin.post(
      '/api/jobs',
      jobBody(referrer.id, technician.id, { targetCompanyIds: [targets[0].id] }),
    );
    expect(created.status).toBe(201);
    const routingId: string = created.body.routings[0].id;

    worker = startWorker();
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
      worker!.once('exit', (code, signal) => done({ code, signal })),
    );
    await waitFor(async () => (await admin.get(`/api/routings/${routingId}`)).body.status === 'syncing', {
      timeoutMs: 45_000,
      what: `the worker to claim routing ${routingId}`,
    });

    process.kill(worker.pid!, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([
      exited,
      new Promise((done) => (timer = setTimeout(() => done('still running after 20 s'), 20_000))),
    ]);
    clearTimeout(timer);
    if ((exit as { code: number | null }).code !== 0) console.log(output);
    expect(exit).toEqual({ code: 0, signal: null });

    // Drained, not abandoned: the attempt was recorded and its retry scheduled before the queues closed.
    const routing = (await admin.get(`/api/routings/${routingId}`)).body;
    expect(routing).toMatchObject({ status: 'failed', attempts: 1 });
    expect(routing.lastError).toContain('503');
    const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    const retryQueue = new Queue(QUEUE.retry, { connection });
    try {
      const delayed = await retryQueue.getJobs(['delayed', 'wait', 'prioritized']);
      expect(delayed.map((j) => j.data.routingId)).toContain(routingId);
    } finally {
      await retryQueue.close();
      await connection.quit();
    }
    expect(output).not.toContain('Could not enqueue the delayed retry');
  }, 90_000);
});
