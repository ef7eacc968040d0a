import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { Client } from 'pg';

import { RunningSandbox, startSandbox } from '../../src/sandbox/sandbox';
import { SandboxControl } from '../../src/sandbox/sandbox-control.client';
import { createNetwork, housecallProCredentials, jobBody } from '../factories/network.factory';
import { freePort } from '../faults/processes';
import { startTestApp, truncateAll } from '../helpers/app';
import { ApiClient, apiClient, expectProblem } from '../helpers/http';
import { checkLogLines } from '../helpers/json-lines';
import { RedisServer } from '../helpers/redis-server';
import { ServiceProcess, buildService } from '../helpers/service-process';
import { waitFor } from '../helpers/wait';
import { FAST_SYNC_ENV, TEST_DATABASE_URL } from '../test-env';

// SPEC section 12 gives these endpoints 3 s while Redis is down: the client waits no longer.
const CLIENT_TIMEOUT_MS = 3000;
const SHUTDOWN_TIMEOUT_MS = 6000;
const ADMIN_KEY = `te_outage_admin_${randomBytes(16).toString('hex')}`;
const ARTIFACTS = resolve(__dirname, '../artifacts/redis-outage');

/**
 * Redis goes away under a running service (SPEC section 12). The service is the compiled build in
 * its own process with a redis-server of the test's own, which the test stops and starts by PID:
 * the operations surface keeps answering, the API keeps accepting jobs, the jobs sync once Redis is
 * back, SIGTERM ends the process on time, and every line it printed is one JSON object.
 */
describe('A Redis outage under the running service (compiled, own process)', () => {
  let redis: RedisServer;
  let sandbox: RunningSandbox;
  let control: SandboxControl;
  let service: ServiceProcess;
  let db: Client;
  let url: string;
  let admin: ApiClient;
  let network: Awaited<ReturnType<typeof createNetwork>>;
  const acceptedDuringOutage: string[] = [];
  let secondOutageFrom = 0; // index of the first log line after the first outage ended

  /** A request that gives up after CLIENT_TIMEOUT_MS (fetch throws then, and the test fails). */
  const call = (path: string, init: RequestInit = {}) =>
    fetch(`${url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(init.headers ?? {}) },
      signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
    });
  const routingStatus = async (id: string) => (await admin.get(`/api/routings/${id}`)).body.status as string;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const mainJs = buildService('redis-outage/build');
    db = new Client({ connectionString: TEST_DATABASE_URL });
    await db.connect();
    // The sync sweep takes the oldest pending routings: leave no other test file's in the way.
    await truncateAll(db);
    redis = await RedisServer.start();
    sandbox = await startSandbox({ port: 0, autoLifecycle: false });
    control = new SandboxControl(sandbox.url);
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    service = new ServiceProcess(mainJs, {
      ...FAST_SYNC_ENV, // sweeps only when asked (or when Redis comes back), fast retries
      NODE_ENV: 'production',
      APP_MODE: 'all',
      PORT: String(port),
      DATABASE_URL: TEST_DATABASE_URL,
      REDIS_URL: redis.url,
      RUN_MIGRATIONS: 'false',
      SANDBOX: 'false',
      ADMIN_API_KEY: ADMIN_KEY,
      CREDENTIALS_KEY: randomBytes(32).toString('base64'),
      SERVICETITAN_AUTH_URL: sandbox.url,
      SERVICETITAN_API_URL: sandbox.url,
      SERVICETITAN_APP_KEY: 'outage-app-key',
      HOUSECALLPRO_API_URL: sandbox.url,
      PROVIDER_TIMEOUT_MS: '30000',
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      LOG_LEVEL: 'info',
    });
    admin = apiClient(url, ADMIN_KEY);
    await waitFor(async () => (await fetch(`${url}/api/health/ready`).catch(() => null))?.status === 200, {
      timeoutMs: 60_000,
      what: 'the service to be ready',
    });
  }, 180_000);

  afterAll(async () => {
    if (service?.running) service.signal('SIGKILL');
    // The service's output, for whoever reads a failure of this file.
    if (service) writeFileSync(join(ARTIFACTS, 'service.log'), service.lines.join('\n') + '\n');
    await redis?.stop();
    await sandbox?.close();
    await db?.end();
  });

  it('before the outage: a referral syncs, and the sweeps run', async () => {
    network = await createNetwork(admin, 1, {
      provider: { type: 'housecallpro', credentials: housecallProCredentials() },
    });
    const job = await admin.post('/api/jobs', jobBody(network.referrer.id, network.technician.id));
    expect(job.status).toBe(201);
    const routingId = job.body.routings[0].id;
    await waitFor(async () => (await routingStatus(routingId)) === 'synced', { what: 'the first routing to sync' });
    for (const sweep of ['sync', 'poll', 'retry']) {
      expect((await admin.post(`/api/admin/sweeps/${sweep}/run`)).status).toBe(202);
    }
    expect((await call('/metrics').then((r) => r.text())).match(/^redis_available (\d)$/m)?.[1]).toBe('1');
  });

  const lostConnections = () =>
    new Set(service.logged('Redis connection lost; retrying').map((line) => String(line.connection)));

  describe('while Redis is down', () => {
    beforeAll(async () => {
      await redis.stop();
      // Until the service has noticed on every kind of connection (shared, queues, workers), as it logs.
      await waitFor(async () => ['shared', 'queue:sync', 'worker:sync'].every((c) => lostConnections().has(c)), {
        what: 'the service to log the lost connections',
      });
    });

    it('/metrics answers 200 with what it can read, and says Redis is unavailable', async () => {
      const res = await call('/metrics');
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toMatch(/^redis_available 0$/m);
      expect(text).not.toMatch(/^queue_jobs\{/m); // left out rather than stale
      expect(text).toMatch(/^routings\{status="synced"\} \d+$/m); // PostgreSQL still reports
      expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    });

    it('/api/health answers 503 naming Redis and the queues down, the database up', async () => {
      const res = await call('/api/health');
      expect(res.status).toBe(503);
      const report = (await res.json()) as any;
      expect(report.details).toMatchObject({
        database: { status: 'up' },
        redis: { status: 'down' },
        queues: { status: 'down' },
      });
      // This pod runs workers (APP_MODE=all): without Redis it is not ready.
      expect((await call('/api/health/ready')).status).toBe(503);
      expect((await call('/api/health/live')).status).toBe(200);
    });

    it.each([
      ['GET', '/api/admin/queues'],
      ['POST', '/api/admin/sweeps/sync/run'],
      ['GET', '/admin/queues/api/queues'],
    ])('%s %s answers 503 problem+json', async (method, path) => {
      const res = await call(path, { method });
      const body = (await res.json()) as any;
      expectProblem(
        { status: res.status, body, headers: res.headers, contentType: res.headers.get('content-type') ?? '' },
        503,
      );
      expect(body.detail).toMatch(/Redis/);
    });

    it('the Bull Board page itself still loads (it needs no Redis)', async () => {
      const res = await call('/admin/queues');
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('<div id="root">');
    });

    it('POST /api/jobs answers 201: the routings wait in PostgreSQL', async () => {
      for (let i = 0; i < 3; i++) {
        const res = await call('/api/jobs', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(jobBody(network.referrer.id, network.technician.id)),
        });
        expect(res.status).toBe(201);
        const job = (await res.json()) as any;
        expect(job.routings.map((r: { status: string }) => r.status)).toEqual(['pending']);
        acceptedDuringOutage.push(job.routings[0].id);
      }
    });
  });

  it('Redis back: every job accepted meanwhile syncs without waiting for the cron, none lost', async () => {
    await redis.start();
    await waitFor(
      async () => (await Promise.all(acceptedDuringOutage.map(routingStatus))).every((s) => s === 'synced'),
      { timeoutMs: 30_000, what: 'the routings accepted during the outage to sync' },
    );
    const records = await control.housecallProRecords();
    for (const id of acceptedDuringOutage) {
      expect(records.jobs.filter((j) => (j.tags ?? []).includes(`te-routing-${id}`))).toHaveLength(1);
    }
    expect((await call('/api/health/ready')).status).toBe(200);
  });

  it('SIGTERM during an outage with a sync in flight: exits by itself within SHUTDOWN_TIMEOUT_MS, saying what it left', async () => {
    // A provider call that outlasts the shutdown timeout, then Redis goes away under it.
    await control.setFaults('housecallpro', { latencyMs: SHUTDOWN_TIMEOUT_MS * 3 });
    const job = await admin.post('/api/jobs', jobBody(network.referrer.id, network.technician.id));
    const routingId = job.body.routings[0].id;
    await waitFor(async () => (await routingStatus(routingId)) === 'syncing', { what: 'the sync to start' });
    secondOutageFrom = service.lines.length;
    await redis.stop();

    const sent = Date.now();
    service.signal('SIGTERM');
    const exit = await Promise.race([
      service.exited,
      new Promise<null>((resolve) => setTimeout(resolve, SHUTDOWN_TIMEOUT_MS * 2, null)),
    ]);
    await control.clearFaults('housecallpro');
    expect(exit).not.toBeNull(); // it ended by itself (no SIGKILL needed)
    expect(exit!.signal).toBeNull();
    expect(Date.now() - sent).toBeLessThan(SHUTDOWN_TIMEOUT_MS * 2);

    const [timedOut] = service.logged('Shutdown timed out: exiting; unfinished work is left to the sweeps');
    expect(timedOut).toMatchObject({
      signal: 'SIGTERM',
      durationMs: expect.any(Number),
      inFlightAtShutdown: 1,
      drained: 0,
      left: [{ queue: 'sync', queueJobId: routingId }],
    });
    expect(timedOut.durationMs as number).toBeGreaterThanOrEqual(SHUTDOWN_TIMEOUT_MS);
    // Not lost: the routing waits in PostgreSQL for the cleanup sweep to rescue it.
    const { rows } = await db.query<{ status: string }>(`SELECT status FROM routings WHERE id = $1`, [routingId]);
    expect(rows).toEqual([{ status: 'syncing' }]);
  });

  it('printed only JSON lines, none naming a key twice, and one line per Redis connection state change', () => {
    expect(service.lines.length).toBeGreaterThan(50);
    const problems = checkLogLines(service.lines);
    expect(problems.notJson).toEqual([]);
    expect(problems.duplicateKeys).toEqual([]);

    // Two outages: at most two "lost" lines per connection (never one per reconnect attempt), and a
    // "restored" line for each connection lost in the first (the second ended with the process).
    const connectionsOf = (msg: string, lines: string[]) =>
      lines.flatMap((line) => {
        const entry = JSON.parse(line) as { msg?: string; connection?: string };
        return entry.msg === msg ? [String(entry.connection)] : [];
      });
    const lost = connectionsOf('Redis connection lost; retrying', service.lines);
    expect(Math.max(...[...new Set(lost)].map((c) => lost.filter((x) => x === c).length))).toBeLessThanOrEqual(2);
    const lostFirst = new Set(
      connectionsOf('Redis connection lost; retrying', service.lines.slice(0, secondOutageFrom)),
    );
    const restored = new Set(connectionsOf('Redis connection restored', service.lines));
    expect([...lostFirst].sort()).toEqual([...restored].sort());
    expect([...lostFirst]).toEqual(expect.arrayContaining(['shared', 'queue:sync', 'worker:sync']));
    // The sync logs name the referral's job and the queue's job apart.
    const synced = service.logged('Routing synced');
    expect(synced.length).toBeGreaterThanOrEqual(4);
    for (const line of synced) expect(line).toMatchObject({ queueJobId: line.routingId });
  });
});

describe('Readiness while Redis is down (SPEC section 12)', () => {
  it.each([
    ['api', 200],
    ['worker', 503],
    ['all', 503],
  ] as const)('APP_MODE=%s: /api/health/ready answers %i', async (mode, status) => {
    const t = await startTestApp({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` }, mode);
    try {
      const res = await fetch(`${t.url}/api/health/ready`, { signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) });
      expect(res.status).toBe(status);
      const report = (await res.json()) as any;
      expect(report.details.database.status).toBe('up');
      // An API pod does not look at Redis for readiness; the others report it down.
      expect(report.details.redis?.status).toBe(mode === 'api' ? undefined : 'down');
    } finally {
      await t.close();
    }
  });
});
