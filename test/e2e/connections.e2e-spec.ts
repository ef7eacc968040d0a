import { Writable } from 'node:stream';

import { getQueueToken } from '@nestjs/bullmq';
import { Queue } from 'bullmq';

import { CredentialsCipher } from '../../src/connections/credentials-cipher';
import { JOB, PRIORITY, QUEUE } from '../../src/queue/queues';
import { SandboxControl } from '../../src/sandbox/sandbox-control.client';
import {
  createCompany,
  createNetwork,
  housecallProCredentials,
  jobBody,
  serviceTitanCredentials,
} from '../factories/network.factory';
import { TestApp, flushTestRedis, startTestApp, truncateAll } from '../helpers/app';
import { ApiClient, apiClient, expectProblem } from '../helpers/http';
import { waitFor } from '../helpers/wait';
import { FAST_SYNC_ENV, TEST_ADMIN_KEY } from '../test-env';

class LogCapture extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  _write(chunk: Buffer, _: BufferEncoding, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) this.lines.push(JSON.parse(line));
    done();
  }
}

describe('Connections - a company link to a provider account, kept per routing', () => {
  const logs = new LogCapture();
  let t: TestApp;
  let admin: ApiClient;
  let sandbox: SandboxControl;

  beforeAll(async () => {
    await flushTestRedis();
    t = await startTestApp({ ...FAST_SYNC_ENV, LOG_LEVEL: 'warn', PUBLIC_BASE_URL: 'https://te.example.test' }, 'all', {
      logDestination: logs,
    });
    await truncateAll(t.db);
    admin = apiClient(t.url, TEST_ADMIN_KEY);
    sandbox = new SandboxControl(t.sandbox.url);
  });
  afterEach(async () => {
    await sandbox.setOptions({ autoRegister: true });
    await sandbox.clearFaults('servicetitan');
    await sandbox.clearFaults('housecallpro');
  });
  afterAll(() => t.close());

  const routing = async (id: string) => (await admin.get(`/api/routings/${id}`)).body;
  const connections = async (companyId: string) =>
    (await admin.get(`/api/companies/${companyId}/connections`)).body.items as any[];
  const waitForStatus = (id: string, status: string) =>
    waitFor(
      async () => {
        const r = await routing(id);
        return r.status === status ? r : null;
      },
      { timeoutMs: 15_000, what: `routing ${id} to be ${status}` },
    );
  async function refer(referrer: { id: string }, technicianId: string, targetId: string): Promise<string> {
    const res = await admin.post('/api/jobs', jobBody(referrer.id, technicianId, { targetCompanyIds: [targetId] }));
    expect(res.status).toBe(201);
    return res.body.routings[0].id;
  }

  describe('GET /api/companies/:id/connections', () => {
    it('lists the active connection with its webhook URL; a changed provider makes a new one, the old one disabled', async () => {
      const credentials = serviceTitanCredentials();
      const company = await createCompany(admin, { provider: { type: 'servicetitan', credentials } });
      const [first] = await connections(company.id);
      expect(first).toEqual({
        id: expect.any(String),
        companyId: company.id,
        providerType: 'servicetitan',
        status: 'active',
        statusReason: null,
        webhookUrl: expect.stringMatching(
          new RegExp(`^https://te\\.example\\.test/api/webhooks/servicetitan/${first.id}/[\\w-]{32}$`),
        ),
        openRoutings: 0,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      expect(JSON.stringify(first)).not.toContain(credentials.clientSecret);
      // The same provider and credentials again change nothing.
      await admin.patch(`/api/companies/${company.id}`, { provider: { type: 'servicetitan', credentials } });
      expect(await connections(company.id)).toHaveLength(1);
      // The webhook URL is stable between reads.
      expect((await connections(company.id))[0].webhookUrl).toBe(first.webhookUrl);

      const patched = await admin.patch(`/api/companies/${company.id}`, {
        provider: { type: 'housecallpro', credentials: housecallProCredentials() },
      });
      expect(patched.body.provider).toEqual({
        type: 'housecallpro',
        configured: true,
        connectionId: expect.any(String),
        status: 'active',
      });
      const [newest, old] = await connections(company.id);
      expect(newest).toMatchObject({
        id: patched.body.provider.connectionId,
        providerType: 'housecallpro',
        status: 'active',
      });
      expect(old).toMatchObject({
        id: first.id,
        status: 'disabled',
        statusReason: `replaced by connection ${newest.id}`,
      });
    });

    it('is admin only, and 404 for an unknown company', async () => {
      const company = await createCompany(admin);
      const key = (await admin.post('/api/api-keys', { name: 'own', role: 'company', companyId: company.id })).body.key;
      expectProblem(await admin.get(`/api/companies/${company.id}/connections`, { key }), 403);
      expectProblem(await admin.get('/api/companies/00000000-0000-4000-8000-000000000000/connections'), 404);
    });

    it('refuses credentials with a CR or LF, naming the field, and lists every bad field at once', async () => {
      const res = await admin.post('/api/companies', {
        name: 'Header smuggler',
        provider: {
          type: 'servicetitan',
          credentials: {
            tenantId: '12',
            clientId: 'cid\r\nX-Injected: 1',
            clientSecret: 's\n',
            bookingProviderId: 'x',
          },
        },
      });
      const problem = expectProblem(res, 400);
      expect(problem.errors).toEqual(
        expect.arrayContaining([
          { field: 'provider.credentials.clientId', message: 'must not contain control characters' },
          { field: 'provider.credentials.bookingProviderId', message: 'must be an integer id (digits only)' },
        ]),
      );
    });
  });

  it('ServiceTitan → Housecall Pro: routings synced before are polled through the old connection and complete; new referrals go to Housecall Pro', async () => {
    const st = serviceTitanCredentials();
    const { referrer, technician, targets } = await createNetwork(admin, 1, {
      provider: { type: 'servicetitan', credentials: st },
    });
    const receiver = targets[0];
    const before = await waitForStatus(await refer(referrer, technician.id, receiver.id), 'synced');
    const [stConnection] = await connections(receiver.id);
    expect(before.connectionId).toBe(stConnection.id);

    const hcp = housecallProCredentials();
    await admin.patch(`/api/companies/${receiver.id}`, { provider: { type: 'housecallpro', credentials: hcp } });
    const after = await waitForStatus(await refer(referrer, technician.id, receiver.id), 'synced');
    expect(after.providerType).toBe('housecallpro');
    expect(after.connectionId).not.toBe(stConnection.id);
    expect(
      (await sandbox.housecallProRecords()).jobs.filter((j: any) => j.tags.includes(`te-routing-${after.id}`)),
    ).toHaveLength(1);
    const [hcpConnection, oldConnection] = await connections(receiver.id);
    expect(oldConnection).toMatchObject({ id: stConnection.id, status: 'disabled', openRoutings: 1 });
    expect(hcpConnection).toMatchObject({ status: 'active', openRoutings: 1 });

    await sandbox.completeBooking(before.externalId, 42_000);
    await sandbox.resetStats();
    await admin.post('/api/admin/sweeps/poll/run');
    const completed = await waitForStatus(before.id, 'completed');
    expect(completed).toMatchObject({
      revenueCents: 42_000,
      connectionId: stConnection.id,
      providerType: 'servicetitan',
    });
    // The sandbox saw the old routing's poll under the old tenant, and no ServiceTitan call under anything else.
    const stCalls = await sandbox.requests({ provider: 'servicetitan' });
    expect(stCalls.length).toBeGreaterThan(0);
    expect(new Set(stCalls.filter((c) => c.account !== null).map((c) => c.account))).toEqual(new Set([st.tenantId]));
    expect((await admin.get(`/api/routings/${after.id}`)).body.status).toBe('synced');
  });

  it('credentials the provider rejects for good: the connection becomes invalid, its routings fail naming it, and it gets no more calls', async () => {
    const { referrer, technician, targets } = await createNetwork(admin, 1);
    const receiver = targets[0];
    const synced = await waitForStatus(await refer(referrer, technician.id, receiver.id), 'synced');

    // The tenant disconnects the app: the sandbox forgets its client and registers none on first use.
    await sandbox.reset();
    await sandbox.setOptions({ autoRegister: false });
    const rejected = await waitForStatus(await refer(referrer, technician.id, receiver.id), 'permanently_failed');
    const connectionId = synced.connectionId as string;
    expect(rejected.connectionId).toBe(connectionId);
    expect(rejected.attempts).toBe(1);
    expect(rejected.lastError).toMatch(
      new RegExp(`^connection ${connectionId} is invalid: ServiceTitan rejected the credentials \\(.*invalid_client`),
    );
    const [connection] = await connections(receiver.id);
    expect(connection).toMatchObject({ id: connectionId, status: 'invalid', openRoutings: 0 });
    expect(connection.statusReason).toMatch(/^ServiceTitan rejected the credentials/);
    // The routing synced through it ends with the same reason (it can never be polled again).
    expect(await routing(synced.id)).toMatchObject({ status: 'permanently_failed', lastError: rejected.lastError });
    expect((await admin.get(`/api/companies/${receiver.id}`)).body.provider).toMatchObject({
      connectionId,
      status: 'invalid',
    });

    await sandbox.resetStats();
    await admin.post('/api/admin/sweeps/poll/run');
    await admin.post('/api/admin/sweeps/retry/run');
    expect((await admin.post(`/api/routings/${rejected.id}/retry`)).status).toBe(202);
    const again = await waitForStatus(rejected.id, 'permanently_failed');
    expect(again.lastError).toMatch(/the company has no active provider connection/);
    expectProblem(
      await admin.post('/api/jobs', jobBody(referrer.id, technician.id, { targetCompanyIds: [receiver.id] })),
      422,
      'targetCompanyIds[0]',
    );
    await new Promise((r) => setTimeout(r, 300));
    expect((await sandbox.stats()).providers.servicetitan.requests).toBe(0);

    // New credentials: a manual retry binds the routing to the new connection, which syncs it.
    await sandbox.setOptions({ autoRegister: true });
    await admin.patch(`/api/companies/${receiver.id}`, {
      provider: { type: 'servicetitan', credentials: serviceTitanCredentials() },
    });
    expect((await admin.post(`/api/routings/${rejected.id}/retry`)).status).toBe(202);
    const recovered = await waitForStatus(rejected.id, 'synced');
    expect(recovered.connectionId).toBe((await connections(receiver.id))[0].id);
    expect(recovered.connectionId).not.toBe(connectionId);
  });

  it('stored credentials that no longer parse: bounded attempts, then permanently_failed naming the fields', async () => {
    const { referrer, technician, targets } = await createNetwork(admin, 1);
    const [connection] = await connections(targets[0].id);
    const sealed = new CredentialsCipher(t.config).encrypt({ tenant: 'renamed field' });
    await t.db.query(`UPDATE connections SET credentials = $2 WHERE id = $1`, [connection.id, sealed]);
    const failed = await waitForStatus(await refer(referrer, technician.id, targets[0].id), 'permanently_failed');
    expect(failed.attempts).toBe(t.config.maxSyncAttempts);
    expect(failed.lastError).toBe(
      `stored credentials of connection ${connection.id} do not match the provider ` +
        `(tenantId, clientId, clientSecret, bookingProviderId, tenant) (gave up after ${t.config.maxSyncAttempts} attempts)`,
    );
    expect(JSON.stringify(failed)).not.toContain('renamed field');
  });

  it('logs a provider-caused sync failure and a failed poll with ids, provider and reason', async () => {
    const { referrer, technician, targets } = await createNetwork(admin, 1);
    const synced = await waitForStatus(await refer(referrer, technician.id, targets[0].id), 'synced');
    await sandbox.setFaults('servicetitan', { errorRate: 1, errorStatus: 502 });
    const failing = await refer(referrer, technician.id, targets[0].id);
    await waitForStatus(failing, 'failed');
    await admin.post('/api/admin/sweeps/poll/run');
    const pollLine = await waitFor(
      async () => logs.lines.find((l) => l.msg === 'Poll failed' && l.connectionId === synced.connectionId),
      { what: 'a Poll failed log line' },
    );
    expect(pollLine).toMatchObject({ provider: 'servicetitan', companyId: targets[0].id });
    expect(String(pollLine!.reason)).toContain('HTTP 502');
    const syncLine = logs.lines.find((l) => l.msg === 'Sync attempt failed' && l.routingId === failing);
    expect(syncLine).toMatchObject({ provider: 'servicetitan', connectionId: synced.connectionId, outcome: 'failed' });
    expect(String(syncLine!.reason)).toContain('HTTP 502');
  });
});

describe('Sync concurrency - SYNC_CONCURRENCY bounds sync and retry attempts together', () => {
  let t: TestApp;

  beforeAll(async () => {
    await flushTestRedis();
    t = await startTestApp({ ...FAST_SYNC_ENV, SYNC_CONCURRENCY: '2' }, 'all');
    await truncateAll(t.db);
  });
  afterAll(() => t.close());

  it('never runs more than SYNC_CONCURRENCY attempts at once in one worker, whichever queue they came from', async () => {
    const admin = apiClient(t.url, TEST_ADMIN_KEY);
    const sandbox = new SandboxControl(t.sandbox.url);
    await sandbox.setFaults('servicetitan', { latencyMs: 250 });
    const { referrer, technician, targets } = await createNetwork(admin, 8);
    // The job's routings are committed without the API's own enqueue: the test puts half on each queue.
    const [job] = await t.db.query(
      `INSERT INTO jobs (status, company_id, technician_id, homeowner, address, summary)
       VALUES ('open', $1, $2, '{"firstName":"A","lastName":"B","phone":"+15125550147","email":null}',
               '{"street":"1 Main St","unit":null,"city":"Austin","state":"TX","zip":"78701","country":"US"}', 'x')
       RETURNING id`,
      [referrer.id, technician.id],
    );
    const routings: { id: string }[] = await t.db.query(
      `INSERT INTO routings (job_id, company_id, provider_type, status)
       SELECT $1, unnest($2::uuid[]), 'servicetitan', 'pending' RETURNING id`,
      [job.id, targets.map((c) => c.id)],
    );
    let busiest = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const [{ n }] = await t.db.query(`SELECT count(*)::int AS n FROM routings WHERE status = 'syncing'`);
        busiest = Math.max(busiest, n);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const sync = t.app.get<Queue>(getQueueToken(QUEUE.sync));
    const retry = t.app.get<Queue>(getQueueToken(QUEUE.retry));
    await Promise.all(
      routings.map((r, i) =>
        (i % 2 ? retry : sync).add(JOB.syncRouting, { routingId: r.id }, { jobId: r.id, priority: PRIORITY.high }),
      ),
    );
    await waitFor(
      async () => {
        const [{ n }] = await t.db.query(`SELECT count(*)::int AS n FROM routings WHERE status = 'synced'`);
        return n === routings.length;
      },
      { what: 'every routing synced' },
    );
    sampling = false;
    await sampler;
    await sandbox.clearFaults('servicetitan');
    expect(busiest).toBeGreaterThan(0);
    expect(busiest).toBeLessThanOrEqual(2);
  });
});
