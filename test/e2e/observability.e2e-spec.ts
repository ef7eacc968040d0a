import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';

import { SandboxControl } from '../../src/sandbox/sandbox-control.client';
import { createNetwork, createTechnician, jobBody } from '../factories/network.factory';
import { TestApp, flushTestRedis, startTestApp, truncateAll } from '../helpers/app';
import { ApiClient, apiClient, expectProblem } from '../helpers/http';
import { checkLogLines } from '../helpers/json-lines';
import { waitFor } from '../helpers/wait';
import { FAST_SYNC_ENV, TEST_ADMIN_KEY } from '../test-env';

/** Captures every log line the app writes. */
class LogCapture extends Writable {
  readonly lines: string[] = [];
  _write(chunk: Buffer, _: BufferEncoding, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  }
  parsed(): Record<string, unknown>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const line = text.split('\n').find((l) => {
    if (!l.startsWith(`${name}{`) && !l.startsWith(`${name} `)) return false;
    return Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`));
  });
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('Observability: logs, metrics, health, queue operations', () => {
  const logs = new LogCapture();
  let t: TestApp;
  let admin: ApiClient;
  let sandbox: SandboxControl;
  const secrets: string[] = [TEST_ADMIN_KEY];

  beforeAll(async () => {
    await flushTestRedis();
    t = await startTestApp({ ...FAST_SYNC_ENV, LOG_LEVEL: 'debug' }, 'all', { logDestination: logs });
    // Sweeps take the oldest rows first: leave no other test file's routings in the way.
    await truncateAll(t.db);
    admin = apiClient(t.url, TEST_ADMIN_KEY);
    sandbox = new SandboxControl(t.sandbox.url);
  });
  afterAll(() => t.close());

  describe('a full flow', () => {
    let routingIds: string[];
    const requestId = 'flow-req-42';

    beforeAll(async () => {
      const stSecret = 'cs.st-secret-never-log-me';
      const hcpKey = 'hcp_key_never_log_me';
      secrets.push(stSecret, hcpKey);
      const { referrer, technician } = await createNetwork(admin, 0);
      const st = await admin.post('/api/companies', {
        name: 'ST receiver',
        provider: {
          type: 'servicetitan',
          credentials: { tenantId: '777', clientId: 'cid.obs', clientSecret: stSecret, bookingProviderId: '9' },
        },
      });
      const hcp = await admin.post('/api/companies', {
        name: 'HCP receiver',
        provider: { type: 'housecallpro', credentials: { apiKey: hcpKey } },
      });
      const companyKey = (await admin.post('/api/api-keys', { name: 'flow', role: 'company', companyId: referrer.id }))
        .body.key;
      secrets.push(companyKey);
      await createTechnician(admin, referrer.id);
      const job = await apiClient(t.url, companyKey).post(
        '/api/jobs',
        jobBody(referrer.id, technician.id, { targetCompanyIds: [st.body.id, hcp.body.id] }),
        { headers: { 'x-request-id': requestId, 'idempotency-key': 'obs-flow-1' } },
      );
      expect(job.status).toBe(201);
      routingIds = job.body.routings.map((r: any) => r.id);
      const synced = await Promise.all(
        routingIds.map((id) =>
          waitFor(async () =>
            (await admin.get(`/api/routings/${id}`)).body.status === 'synced'
              ? (await admin.get(`/api/routings/${id}`)).body
              : null,
          ),
        ),
      );
      // Move both through completion, then poll (with one 429 on the way).
      for (const r of synced) {
        if (r.providerType === 'servicetitan') await sandbox.completeBooking(r.externalId, 50_000);
        else await sandbox.completeHcpJob(r.externalId, 25_000);
      }
      await sandbox.setFaults('servicetitan', { rateLimitRate: 1, retryAfterSeconds: 1 });
      await admin.post('/api/admin/sweeps/poll/run', undefined, { headers: { 'x-request-id': 'sweep-req-7' } });
      await new Promise((r) => setTimeout(r, 500));
      await sandbox.clearFaults('servicetitan');
      await admin.post('/api/admin/sweeps/poll/run');
      await waitFor(async () => (await admin.get(`/api/jobs/${job.body.id}`)).body.revenueCents === 75_000, {
        what: 'job revenue',
      });
    });

    it('never logs a secret: keys, provider credentials, tokens, Authorization headers', () => {
      const text = logs.lines.join('\n');
      expect(logs.lines.length).toBeGreaterThan(20);
      for (const secret of secrets) expect(text).not.toContain(secret);
      expect(text).not.toMatch(/Bearer\s+te_/);
      // ServiceTitan access tokens (JWTs issued by the sandbox) and Housecall Pro `Token` headers
      expect(text).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/);
      expect(text).not.toMatch(/Token\s+hcp_/);
      expect(text).not.toMatch(/"authorization":"(?!\[redacted\])/i);
    });

    it('carries the request id from the API request into the queue job and the worker that synced it', () => {
      const lines = logs.parsed();
      const request = lines.find((l) => l.requestId === requestId && (l.req as any)?.url === '/api/jobs');
      expect(request).toBeDefined();
      const synced = lines.filter((l) => l.msg === 'Routing synced' && l.requestId === requestId);
      expect(synced.map((l) => l.routingId).sort()).toEqual([...routingIds].sort());
    });

    it('writes one JSON object per line, never naming a key twice', () => {
      const problems = checkLogLines(logs.lines);
      expect(problems.notJson).toEqual([]);
      expect(problems.duplicateKeys).toEqual([]);
    });

    it('names the referral job `jobId` and the queue job `queueJobId`', () => {
      const synced = logs.parsed().filter((l) => l.msg === 'Routing synced');
      expect(synced.length).toBeGreaterThanOrEqual(2);
      for (const line of synced) expect(line).toMatchObject({ queue: 'sync', queueJobId: line.routingId });
    });

    it('logs sweeps under their own id, with the request id of the admin call that ran them', () => {
      const sweep = logs.parsed().find((l) => l.msg === 'Sweep ran' && l.requestId === 'sweep-req-7');
      expect(sweep).toMatchObject({ sweep: 'poll', sweepId: expect.any(String) });
    });

    it('moves every SPEC metric on /metrics', async () => {
      const text = (await apiClient(t.url).get('/metrics')).body as string;
      expect(metricValue(text, 'jobs_created_total')).toBeGreaterThanOrEqual(1);
      expect(
        metricValue(text, 'routing_sync_total', { provider: 'servicetitan', outcome: 'synced' }),
      ).toBeGreaterThanOrEqual(1);
      expect(
        metricValue(text, 'routing_sync_total', { provider: 'housecallpro', outcome: 'synced' }),
      ).toBeGreaterThanOrEqual(1);
      expect(
        metricValue(text, 'routing_sync_duration_seconds_count', { provider: 'servicetitan' }),
      ).toBeGreaterThanOrEqual(1);
      expect(
        metricValue(text, 'provider_requests_total', { provider: 'servicetitan', status: '200' }),
      ).toBeGreaterThanOrEqual(2);
      expect(
        metricValue(text, 'provider_requests_total', { provider: 'housecallpro', status: '201' }),
      ).toBeGreaterThanOrEqual(1);
      expect(metricValue(text, 'provider_rate_limited_total', { provider: 'servicetitan' })).toBeGreaterThanOrEqual(1);
      expect(metricValue(text, 'routings', { status: 'completed' })).toBeGreaterThanOrEqual(2);
      expect(metricValue(text, 'queue_jobs', { queue: 'sync', state: 'waiting' })).toBeGreaterThanOrEqual(0);
      expect(metricValue(text, 'sweep_runs_total', { name: 'poll', outcome: 'success' })).toBeGreaterThanOrEqual(2);
      expect(metricValue(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
      expect(metricValue(text, 'queue_oldest_job_age_seconds', { queue: 'sync' })).toBeGreaterThanOrEqual(0);
      expect(metricValue(text, 'queue_workers', { queue: 'sync' })).toBeGreaterThanOrEqual(1);
      expect(metricValue(text, 'redis_available')).toBe(1);
      expect(metricValue(text, 'provider_circuit_open', { provider: 'servicetitan' })).toBe(0);
    });

    it('passes promtool check metrics (no gauge named like a counter)', async () => {
      const text = (await apiClient(t.url).get<string>('/metrics')).body;
      const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(check.error?.message ?? null).toBeNull(); // promtool (Prometheus) must be installed
      expect({ status: check.status, output: `${check.stdout}${check.stderr}` }).toEqual({ status: 0, output: '' });
      expect(text).toMatch(/^nodejs_active_handles\{/m);
    });
  });

  describe('health', () => {
    it('/api/health reports every component', async () => {
      const res = await apiClient(t.url).get('/api/health');
      expect(res.status).toBe(200);
      expect(Object.keys(res.body.details).sort()).toEqual(['database', 'providers', 'queues', 'redis', 'system']);
      expect(res.body.details.queues.sync).toMatchObject({ workers: expect.any(Number), waiting: expect.any(Number) });
      expect(res.body.details.queues.sync.workers).toBeGreaterThanOrEqual(1);
      expect(res.body.details.system).toMatchObject({
        rssBytes: expect.any(Number),
        eventLoopDelayP99Ms: expect.any(Number),
      });
    });

    it.each(['database', 'redis', 'queues', 'providers', 'system'])('/api/health/component/%s', async (name) => {
      const res = await apiClient(t.url).get(`/api/health/component/${name}`);
      expect(res.status).toBe(200);
      expect(res.body.info[name].status).toBe('up');
    });

    it('knows the providers it called', async () => {
      const res = await apiClient(t.url).get('/api/health/component/providers');
      expect(res.body.info.providers.servicetitan.callsLast15m).toBeGreaterThan(0);
      expect(res.body.info.providers.servicetitan.lastSuccessAt).toEqual(expect.any(String));
    });

    it('404 problem+json for an unknown component', async () => {
      expectProblem(await apiClient(t.url).get('/api/health/component/kafka'), 404);
    });
  });

  describe('queue operations', () => {
    it('GET /api/admin/queues counts each queue (admin only)', async () => {
      const res = await admin.get('/api/admin/queues');
      expect(res.status).toBe(200);
      expect(res.body.map((q: any) => q.name)).toEqual([
        'sync',
        'poll',
        'retry',
        'cleanup',
        'default',
        'webhooks',
        'provider-webhooks',
      ]);
      expect(res.body[0]).toEqual(
        expect.objectContaining({
          waiting: expect.any(Number),
          active: expect.any(Number),
          delayed: expect.any(Number),
          failed: expect.any(Number),
          completed: expect.any(Number),
        }),
      );
    });

    it('POST /api/admin/sweeps/:name/run rejects an unknown sweep', async () => {
      expectProblem(await admin.post('/api/admin/sweeps/vacuum/run'), 400, 'name');
    });

    it('Bull Board at /admin/queues needs the admin key (Bearer or basic auth password)', async () => {
      expect((await fetch(`${t.url}/admin/queues`)).status).toBe(401);
      const basic = Buffer.from(`ops:${TEST_ADMIN_KEY}`).toString('base64');
      const page = await fetch(`${t.url}/admin/queues`, { headers: { authorization: `Basic ${basic}` } });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<div id="root">');
      const api = await fetch(`${t.url}/admin/queues/api/queues`, {
        headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
      });
      expect(api.status).toBe(200);
      const wrong = Buffer.from('ops:not-the-key').toString('base64');
      expect((await fetch(`${t.url}/admin/queues`, { headers: { authorization: `Basic ${wrong}` } })).status).toBe(401);
    });

    it('Bull Board answers through the API pipeline: request id, access log, no X-Powered-By', async () => {
      const res = await fetch(`${t.url}/admin/queues/api/queues`, {
        headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'x-request-id': 'board-req-1' },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-request-id')).toBe('board-req-1');
      expect(res.headers.get('x-powered-by')).toBeNull();
      await new Promise((r) => setTimeout(r, 50));
      const access = logs.parsed().find((l) => l.requestId === 'board-req-1' && l.msg === 'request completed');
      expect(access).toMatchObject({
        req: { method: 'GET', url: '/admin/queues/api/queues' },
        res: { statusCode: 200 },
      });
    });

    it('Bull Board refuses changes that do not come from its own page (403 problem+json)', async () => {
      const put = (path: string, headers: Record<string, string> = {}) =>
        apiClient(t.url, TEST_ADMIN_KEY).call('PUT', `/admin/queues/api/queues/poll/${path}`, { headers });
      expectProblem(await put('pause'), 403);
      expectProblem(await put('pause', { origin: 'https://evil.example' }), 403);
      expectProblem(await put('pause', { origin: t.url, 'sec-fetch-site': 'cross-site' }), 403);
      expect((await put('pause', { origin: t.url })).status).toBe(200);
      expect((await put('resume', { 'sec-fetch-site': 'same-origin' })).status).toBe(200);
    });
  });
});
