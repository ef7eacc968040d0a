import { ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

import Redis from 'ioredis';

import { CredentialsCipher } from '../../src/connections/credentials-cipher';
import { SandboxControl } from '../../src/sandbox/sandbox-control.client';
import { recordResponse } from '../contract/contract-recorder';
import { connectJobber, createCompany, createNetwork, createTechnician, jobBody } from '../factories/network.factory';
import { TestApp, flushTestRedis, startTestApp, truncateAll } from '../helpers/app';
import { ApiClient, apiClient, expectProblem } from '../helpers/http';
import { waitFor } from '../helpers/wait';
import { FAST_SYNC_ENV, SANDBOX_JOBBER_APP, TEST_ADMIN_KEY, TEST_DATABASE_URL, TEST_REDIS_URL } from '../test-env';

const ROOT = resolve(__dirname, '..', '..');

describe('Jobber - OAuth connect, rotating tokens, GraphQL referrals and polling (sandbox over HTTP)', () => {
  let t: TestApp;
  let admin: ApiClient;
  let sandbox: SandboxControl;

  beforeAll(async () => {
    await flushTestRedis();
    t = await startTestApp(FAST_SYNC_ENV, 'all');
    await truncateAll(t.db);
    admin = apiClient(t.url, TEST_ADMIN_KEY);
    sandbox = new SandboxControl(t.sandbox.url);
  });
  afterEach(async () => {
    await sandbox.clearFaults('jobber');
    await sandbox.setJobberSettings({ accessTokenTtlSeconds: 3600, authorize: { approve: true, accountId: null } });
  });
  afterAll(() => t.close());

  const routing = async (id: string) => (await admin.get(`/api/routings/${id}`)).body;
  const waitForStatus = (id: string, status: string, timeoutMs = 20_000) =>
    waitFor(
      async () => {
        const r = await routing(id);
        return r.status === status ? r : null;
      },
      { timeoutMs, what: `routing ${id} to be ${status}` },
    );
  const connections = async (companyId: string) =>
    (await admin.get(`/api/companies/${companyId}/connections`)).body.items as any[];

  /** A referrer with a technician and a receiving company connected to its own new Jobber account. */
  async function jobberNetwork(receivers = 1) {
    const referrer = await createCompany(admin, { name: 'Referrer', provider: undefined, trades: ['plumbing'] });
    const technician = await createTechnician(admin, referrer.id);
    const targets = [];
    for (let i = 0; i < receivers; i++) {
      const company = await createCompany(admin, { provider: undefined });
      const connected = await connectJobber(admin, t.url, company.id);
      expect(connected.status).toBe(200);
      const [connection] = await connections(company.id);
      targets.push({ ...company, connection });
    }
    return { referrer, technician, targets };
  }
  async function refer(referrerId: string, technicianId: string, targetId: string, overrides = {}) {
    const res = await admin.post(
      '/api/jobs',
      jobBody(referrerId, technicianId, { targetCompanyIds: [targetId], ...overrides }),
    );
    expect(res.status).toBe(201);
    return res.body.routings[0].id as string;
  }
  const accountOf = async (connectionId: string) => {
    const [row] = await t.db.query(`SELECT external_account_id FROM connections WHERE id = $1`, [connectionId]);
    return sandbox.jobberAccount(row.external_account_id);
  };

  describe('OAuth connect - POST /api/companies/:id/connections/jobber/authorize, GET /api/oauth/jobber/callback', () => {
    it('connects a company: the callback stores an active connection with the Jobber account id and answers a page', async () => {
      const company = await createCompany(admin, { name: 'Sparky <Electric>', provider: undefined });
      const res = await connectJobber(admin, t.url, company.id);
      expect(res.location.pathname).toBe('/api/oauth/jobber/callback');
      expect(res.status).toBe(200);
      expect(res.body).toContain('Sparky &#60;Electric&#62; is connected to Jobber');
      const [connection] = await connections(company.id);
      expect(connection).toMatchObject({ providerType: 'jobber', status: 'active' });
      // Jobber's webhooks are the app's: one URL for every account, the events name their account.
      expect(connection.webhookUrl).toBe(`${t.config.publicBaseUrl}/api/webhooks/jobber`);
      const [row] = await t.db.query(`SELECT external_account_id, credentials FROM connections WHERE id = $1`, [
        connection.id,
      ]);
      const account = await sandbox.jobberAccount(row.external_account_id);
      expect(account.grants).toHaveLength(1);
      expect(row.credentials).toMatch(/^v1\./);
      expect((await admin.get(`/api/companies/${company.id}`)).body.provider).toMatchObject({
        type: 'jobber',
        connectionId: connection.id,
        status: 'active',
      });
      // The audit trail names the key that asked for the authorize URL; the tokens only as redacted.
      const audit = await admin.get(`/api/audit-events?action=connection.created&resourceId=${connection.id}`);
      expect(audit.body.items).toHaveLength(1);
      expect(audit.body.items[0].actor).toMatchObject({ role: 'admin', apiKeyId: expect.any(String) });
      expect(JSON.stringify(audit.body)).not.toMatch(/eyJ|refresh/i);
    });

    it('gives the authorize URL to the company itself, not to another company', async () => {
      const company = await createCompany(admin, { provider: undefined });
      const other = await createCompany(admin, { provider: undefined });
      const key = (await admin.post('/api/api-keys', { name: 'c', role: 'company', companyId: company.id })).body.key;
      const own = await admin.post(`/api/companies/${company.id}/connections/jobber/authorize`, undefined, { key });
      expect(own.status).toBe(200);
      const url = new URL(own.body.authorizeUrl);
      expect(url.searchParams.get('client_id')).toBe(SANDBOX_JOBBER_APP.clientId);
      expect(url.searchParams.get('redirect_uri')).toBe(`${t.config.publicBaseUrl}/api/oauth/jobber/callback`);
      expectProblem(
        await admin.post(`/api/companies/${other.id}/connections/jobber/authorize`, undefined, { key }),
        403,
      );
      expectProblem(await admin.post(`/api/companies/${company.id}/connections/servicetitan/authorize`), 404);
      expectProblem(
        await admin.post('/api/companies/00000000-0000-4000-8000-000000000000/connections/jobber/authorize'),
        404,
      );
      expectProblem(
        await admin.post('/api/companies', { name: 'x', provider: { type: 'jobber', credentials: { a: 1 } } }),
        400,
        'provider.type',
      );
    });

    it('refuses a reused, expired or tampered state and a provider error with 400, storing nothing', async () => {
      const company = await createCompany(admin, { provider: undefined });
      const callbackOf = async () => {
        const authorize = await admin.post(`/api/companies/${company.id}/connections/jobber/authorize`);
        const approval = await fetch(authorize.body.authorizeUrl, { redirect: 'manual' });
        const location = new URL(approval.headers.get('location')!);
        return `${t.url}${location.pathname}${location.search}`;
      };
      const problem = async (url: string, field: string) => {
        const res = await fetch(url);
        const { pathname, search } = new URL(url);
        const text = await res.clone().text();
        recordResponse(t.url, {
          method: 'GET',
          path: pathname + search,
          status: res.status,
          headers: res.headers,
          body: JSON.parse(text),
        });
        expect(res.status).toBe(400);
        expect(res.headers.get('content-type')).toContain('application/problem+json');
        const body = (await res.json()) as { errors: { field: string; message: string }[] };
        expect(body.errors.map((e: { field: string }) => e.field)).toContain(field);
        return body;
      };

      const used = await callbackOf();
      expect((await fetch(used)).status).toBe(200);
      const reused = await problem(used, 'state');
      expect(reused.errors[0].message).toMatch(/already used or has expired/);

      // Expiry: the state's single-use record lives 10 minutes in Redis; without it the state is refused.
      const expiring = await callbackOf();
      const redis = new Redis(TEST_REDIS_URL);
      for (const key of await redis.keys('oauth-state:*')) await redis.del(key);
      await redis.quit();
      await problem(expiring, 'state');

      const tampered = new URL(await callbackOf());
      const state = tampered.searchParams.get('state')!;
      tampered.searchParams.set('state', `${state.slice(0, 10)}${state[10] === 'A' ? 'B' : 'A'}${state.slice(11)}`);
      expect((await problem(tampered.toString(), 'state')).errors[0].message).toMatch(
        /not a state this service issued/,
      );
      await problem(`${t.url}/api/oauth/jobber/callback?code=abc`, 'state');

      await sandbox.setJobberSettings({ authorize: { approve: false } });
      const denied = await problem(await callbackOf(), 'error');
      expect(denied.errors[0].message).toMatch(/Jobber did not authorize the connection \(access_denied/);

      const stored = await t.db.query(`SELECT count(*)::int AS n FROM connections WHERE company_id = $1`, [company.id]);
      expect(stored[0].n).toBe(1); // only the one good callback
    });
  });

  it('a referral becomes a client and a request carrying the routing reference; polling brings each lifecycle state', async () => {
    const { referrer, technician, targets } = await jobberNetwork(1);
    const target = targets[0];
    const routingIds: string[] = [];
    for (let i = 0; i < 6; i++) {
      routingIds.push(
        await refer(referrer.id, technician.id, target.id, {
          homeowner: {
            firstName: 'Ann',
            lastName: `Lee${i}`,
            phone: `(512) 555-01${10 + i}`,
            email: `ann${i}@example.com`,
          },
        }),
      );
    }
    const synced = await Promise.all(routingIds.map((id) => waitForStatus(id, 'synced')));
    const records = await sandbox.jobberRecords();
    for (const r of synced) {
      const requests = records.requests.filter((q) => q.title?.endsWith(`[te-routing-${r.id}]`));
      expect(requests.map((q) => q.id)).toEqual([r.externalId]);
      expect(r).toMatchObject({
        providerType: 'jobber',
        connectionId: target.connection.id,
        providerStatus: 'received',
      });
    }
    expect(records.clients.filter((c) => c.lastName.startsWith('Lee'))).toHaveLength(6);

    const [, scheduled, working, held, completed, canceled] = synced.map((r) => r.externalId as string);
    await sandbox.jobberRequestAction(scheduled, 'convert');
    for (const action of ['convert', 'start'] as const) await sandbox.jobberRequestAction(working, action);
    for (const action of ['convert', 'hold'] as const) await sandbox.jobberRequestAction(held, action);
    for (const action of ['convert', 'start'] as const) await sandbox.jobberRequestAction(completed, action);
    await sandbox.jobberRequestAction(completed, 'complete', 123_456);
    await sandbox.jobberRequestAction(canceled, 'archive');

    await sandbox.resetStats();
    await admin.post('/api/admin/sweeps/poll/run');
    await waitForStatus(synced[4].id, 'completed');
    await waitForStatus(synced[5].id, 'canceled');
    const after = await Promise.all(routingIds.map(routing));
    expect(after.map((r) => [r.providerStatus, r.status])).toEqual([
      ['received', 'synced'],
      ['scheduled', 'synced'],
      ['in_progress', 'synced'],
      ['on_hold', 'synced'],
      ['completed', 'completed'],
      ['canceled', 'canceled'],
    ]);
    expect(after[4]).toMatchObject({ revenueCents: 123_456, providerStatusRaw: 'requires_invoicing' });
    expect(after[5].providerStatusRaw).toBe('archived');
    // All six requests were read with one GraphQL document.
    const account = await accountOf(target.connection.id);
    const graphql = (await sandbox.requests({ provider: 'jobber' })).filter(
      (r) => r.route === 'POST /api/graphql' && r.account === account.id,
    );
    expect(graphql).toHaveLength(1);
  });

  it('reads at most 50 requests per document', async () => {
    const { referrer, technician, targets } = await jobberNetwork(1);
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) {
      ids.push(
        await refer(referrer.id, technician.id, targets[0].id, {
          homeowner: { firstName: 'Bo', lastName: `Batch${i}`, email: `bo${i}@example.com` },
        }),
      );
    }
    await Promise.all(ids.map((id) => waitForStatus(id, 'synced', 60_000)));
    await sandbox.resetStats();
    await admin.post('/api/admin/sweeps/poll/run');
    await waitFor(async () => (await Promise.all(ids.map(routing))).every((r) => r.lastPolledAt !== null), {
      what: 'every routing polled',
      timeoutMs: 30_000,
    });
    const account = await accountOf(targets[0].connection.id);
    const graphql = (await sandbox.requests({ provider: 'jobber' })).filter(
      (r) => r.route === 'POST /api/graphql' && r.account === account.id,
    );
    expect(graphql).toHaveLength(2); // 50 + 10
  });

  it('twenty syncs at the moment the access token expires make exactly one refresh, no refresh token used twice', async () => {
    await sandbox.setJobberSettings({ accessTokenTtlSeconds: 4 });
    const { referrer, technician, targets } = await jobberNetwork(1);
    const account = await accountOf(targets[0].connection.id);
    // Past the token's refresh margin (a tenth of its 4 s lifetime): every sync must refresh before calling.
    await new Promise((r) => setTimeout(r, 4_000));
    const ids = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        refer(referrer.id, technician.id, targets[0].id, {
          homeowner: { firstName: 'Cy', lastName: `Race${i}`, email: `cy${i}@example.com` },
        }),
      ),
    );
    await Promise.all(ids.map((id) => waitForStatus(id, 'synced')));
    const after = await sandbox.jobberAccount(account.id);
    expect(after.refreshes).toBe(1);
    expect(after.refreshTokenReuses).toBe(0);
    expect(after.invalidRefreshAttempts).toBe(0);
  });

  const failedAttempt = (id: string) =>
    waitFor(
      async () =>
        (await routing(id)).events.find((e: any) => e.type === 'sync_attempt' && e.outcome === 'retryable_error'),
      { what: `a failed attempt of ${id}` },
    );

  it('a timeout after requestCreate leaves exactly one request after the retries', async () => {
    const { referrer, technician, targets } = await jobberNetwork(1);
    await sandbox.setFaults('jobber', { timeoutAfterCreateRate: 1 });
    const id = await refer(referrer.id, technician.id, targets[0].id);
    expect((await failedAttempt(id)).message).toMatch(/TIMEOUT|timed out/);
    await sandbox.clearFaults('jobber');
    const synced = await waitForStatus(id, 'synced');
    expect(synced.events.find((e: any) => e.type === 'sync_attempt' && e.outcome === 'success').message).toContain(
      'found existing',
    );
    const requests = (await sandbox.jobberRecords()).requests.filter((q) => q.title?.endsWith(`[te-routing-${id}]`));
    expect(requests.map((q) => q.id)).toEqual([synced.externalId]);
  });

  it('waits out a 429 and THROTTLED (without using up attempts), then syncs', async () => {
    const { referrer, technician, targets } = await jobberNetwork(1);
    await sandbox.setFaults('jobber', { rateLimitRate: 1, retryAfterSeconds: 1 });
    const limited = await refer(referrer.id, technician.id, targets[0].id);
    expect((await failedAttempt(limited)).message).toMatch(/RATE_LIMITED/);
    await sandbox.clearFaults('jobber');
    expect((await waitForStatus(limited, 'synced')).attempts).toBe(1);

    // Another client of the account spends the budget behind the service's back (here: the sandbox caps the
    // bucket, and one call of the test's own makes it stick): Jobber answers THROTTLED, and the attempt waits for
    // the points it lacks, which Jobber reports with the error.
    const [row] = await t.db.query(`SELECT credentials, external_account_id FROM connections WHERE id = $1`, [
      targets[0].connection.id,
    ]);
    const { accessToken } = new CredentialsCipher(t.config).decrypt(row.credentials) as { accessToken: string };
    await sandbox.setJobberSettings({ maximumAvailable: 300 });
    const spend = await fetch(`${t.sandbox.url}/api/graphql`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${accessToken}`,
        'content-type': 'application/json',
        'x-jobber-graphql-version': '2022-03-10',
      },
      body: JSON.stringify({ query: '{ account { id } }' }),
    });
    expect(spend.status).toBe(200);
    await sandbox.setJobberSettings({ maximumAvailable: 2000, restoreRate: 50 });
    const throttled = await refer(referrer.id, technician.id, targets[0].id, {
      homeowner: { firstName: 'Di', lastName: 'Throttle', email: 'di@example.com' },
    });
    const synced = await waitForStatus(throttled, 'synced');
    expect(synced.attempts).toBe(1);
    expect((await sandbox.jobberAccount(row.external_account_id)).throttled).toBeGreaterThan(0);
    expect(synced.events.some((e: any) => e.type === 'sync_attempt' && /Throttled/.test(e.message ?? ''))).toBe(true);
    await sandbox.setJobberSettings({ maximumAvailable: 10_000, restoreRate: 500 });
  });

  it('userErrors end the routing permanently_failed with their message', async () => {
    const { referrer, technician, targets } = await jobberNetwork(1);
    const account = await accountOf(targets[0].connection.id);
    await sandbox.jobberUserErrors(account.id, { message: 'Client is on the do-not-service list', count: 5 });
    const id = await refer(referrer.id, technician.id, targets[0].id);
    const failed = await waitForStatus(id, 'permanently_failed');
    expect(failed.attempts).toBe(1);
    expect(failed.lastError).toContain('Client is on the do-not-service list');
  });

  it('a refresh token Jobber rejects makes the connection invalid, and its routings fail naming it', async () => {
    const { referrer, technician, targets } = await jobberNetwork(1);
    const synced = await waitForStatus(await refer(referrer.id, technician.id, targets[0].id), 'synced');
    const account = await accountOf(targets[0].connection.id);
    await sandbox.disconnectJobberAccount(account.id);
    const failing = await refer(referrer.id, technician.id, targets[0].id, {
      homeowner: { firstName: 'Ed', lastName: 'Gone', email: 'ed@example.com' },
    });
    const failed = await waitForStatus(failing, 'permanently_failed');
    expect(failed.lastError).toMatch(
      new RegExp(`^connection ${targets[0].connection.id} is invalid: Jobber rejected the credentials`),
    );
    expect((await connections(targets[0].id))[0]).toMatchObject({ status: 'invalid' });
    expect(await routing(synced.id)).toMatchObject({ status: 'permanently_failed', lastError: failed.lastError });
  });
});

describe('Jobber token refresh across two worker processes', () => {
  let t: TestApp;
  let worker: ChildProcess | undefined;

  beforeAll(async () => {
    await flushTestRedis();
    t = await startTestApp(FAST_SYNC_ENV, 'all');
  });
  afterAll(async () => {
    if (worker?.pid && worker.exitCode === null) process.kill(worker.pid, 'SIGKILL');
    await t.close();
  });

  it('refreshes exactly once, and no refresh token is used twice, with two processes syncing one connection', async () => {
    const admin = apiClient(t.url, TEST_ADMIN_KEY);
    const sandbox = new SandboxControl(t.sandbox.url);
    await sandbox.setJobberSettings({ accessTokenTtlSeconds: 6 });
    let output = '';
    worker = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
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
        HOUSECALLPRO_API_URL: t.sandbox.url,
        JOBBER_API_URL: t.sandbox.url,
        JOBBER_CLIENT_ID: SANDBOX_JOBBER_APP.clientId,
        JOBBER_CLIENT_SECRET: SANDBOX_JOBBER_APP.clientSecret,
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    worker.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(async () => output.includes('listening on'), {
      what: 'the second worker to start',
      timeoutMs: 60_000,
    });

    const { referrer, technician } = await createNetwork(admin, 0);
    const company = await createCompany(admin, { provider: undefined });
    expect((await connectJobber(admin, t.url, company.id)).status).toBe(200);
    const [row] = await t.db.query(`SELECT external_account_id FROM connections WHERE company_id = $1`, [company.id]);
    await new Promise((r) => setTimeout(r, 6_000));
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await admin.post(
        '/api/jobs',
        jobBody(referrer.id, technician.id, {
          targetCompanyIds: [company.id],
          homeowner: { firstName: 'Fay', lastName: `Two${i}`, email: `fay${i}@example.com` },
        }),
      );
      ids.push(res.body.routings[0].id);
    }
    await waitFor(
      async () => {
        const rows = await t.db.query(
          `SELECT count(*)::int AS n FROM routings WHERE id = ANY($1::uuid[]) AND status = 'synced'`,
          [ids],
        );
        return rows[0].n === ids.length;
      },
      { what: 'all twenty routings synced', timeoutMs: 30_000 },
    );
    const account = await sandbox.jobberAccount(row.external_account_id);
    expect(account.refreshes).toBe(1);
    expect(account.refreshTokenReuses).toBe(0);
    // Both processes did syncs (the attempts are spread over the two workers' sync queues).
    expect(output).toContain('Routing synced');
  });
});
