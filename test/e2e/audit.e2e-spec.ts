import { randomUUID } from 'node:crypto';

import { getQueueToken } from '@nestjs/bullmq';
import { Queue } from 'bullmq';

import { AUDIT_PURGE_BATCH_SIZE } from '../../src/audit/audit.service';
import { ConnectionsService } from '../../src/connections/connections.service';
import { QUEUE } from '../../src/queue/queues';
import { SandboxControl } from '../../src/sandbox/sandbox-control.client';
import {
  createCompany,
  createTechnician,
  housecallProCredentials,
  jobBody,
  serviceTitanCredentials,
} from '../factories/network.factory';
import { TestApp, flushTestRedis, startTestApp, truncateAll } from '../helpers/app';
import { ApiClient, ApiResponse, apiClient, expectProblem } from '../helpers/http';
import { waitFor } from '../helpers/wait';
import { FAST_SYNC_ENV, TEST_ADMIN_KEY } from '../test-env';

const REDACTED = '[redacted]';

interface AuditEventBody {
  id: string;
  at: string;
  actor: { apiKeyId: string | null; role: string; companyId: string | null };
  action: string;
  resourceType: string;
  resourceId: string;
  requestId: string | null;
  changes: Record<string, { old: unknown; new: unknown }>;
}

/** Every audit event, newest first, through the API's own pagination. */
async function allEvents(client: ApiClient, query = ''): Promise<AuditEventBody[]> {
  const items: AuditEventBody[] = [];
  let cursor: string | null = null;
  do {
    const res: ApiResponse = await client.get(
      `/api/audit-events?limit=200${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    expect(res.status).toBe(200);
    items.push(...(res.body.items as AuditEventBody[]));
    cursor = res.body.nextCursor as string | null;
  } while (cursor);
  return items;
}

/** Bull Board's API, as the dashboard page calls it (a browser says the request comes from the page itself). */
function dashboard(url: string, key: string, path: string, body: unknown, requestId?: string) {
  return fetch(`${url}/admin/queues/api${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      'sec-fetch-site': 'same-origin',
      ...(requestId ? { 'x-request-id': requestId } : {}),
    },
    body: JSON.stringify(body),
  });
}

const byActionAndId = (a: { action: string; resourceId: string }, b: { action: string; resourceId: string }) =>
  a.action.localeCompare(b.action) || a.resourceId.localeCompare(b.resourceId);

describe('Audit trail - GET /api/audit-events', () => {
  let t: TestApp;
  let admin: ApiClient; // the bootstrap admin key
  let ops: ApiClient; // an admin key made through the API
  let opsKeyId: string;
  let opsKey: string;
  let company: ApiClient; // a company key of `referrer`
  let companyKeyId: string;
  let companyKey: string;
  let sandbox: SandboxControl;

  // What the table's requests work on, made before any of them.
  const f = {} as {
    referrer: { id: string };
    technician: { id: string };
    otherTechnician: { id: string };
    receiver: { id: string };
    rotating: { id: string };
    rotatingConnectionId: string;
    leaving: { id: string };
    leavingConnectionId: string;
    keyToRevoke: string;
    failedRoutingId: string;
  };
  // Every secret the tests set; none may appear in GET /api/audit-events.
  const secrets: string[] = [TEST_ADMIN_KEY];
  const addSecrets = (...values: string[]) => secrets.push(...values);
  const credentialsSecrets = (credentials: Record<string, string>) => addSecrets(...Object.values(credentials));

  const connectionsOf = async (companyId: string) =>
    (await admin.get(`/api/companies/${companyId}/connections`)).body.items as {
      id: string;
      status: string;
      webhookUrl: string;
    }[];
  const routing = async (id: string) => (await admin.get(`/api/routings/${id}`)).body;
  const waitForRouting = (id: string, status: string) =>
    waitFor(async () => ((await routing(id)).status === status ? routing(id) : null), {
      timeoutMs: 15_000,
      what: `routing ${id} to be ${status}`,
    });

  beforeAll(async () => {
    await flushTestRedis();
    t = await startTestApp({ ...FAST_SYNC_ENV, ARCHIVE_AFTER_DAYS: '90' }, 'all');
    await truncateAll(t.db);
    admin = apiClient(t.url, TEST_ADMIN_KEY);
    sandbox = new SandboxControl(t.sandbox.url);

    const opsCreated = await admin.post('/api/api-keys', { name: 'ops', role: 'admin' });
    opsKey = opsCreated.body.key;
    ops = apiClient(t.url, opsKey);
    opsKeyId = opsCreated.body.id;
    addSecrets(opsKey);

    f.referrer = await createCompany(admin, { provider: undefined, trades: ['plumbing'] });
    f.technician = await createTechnician(admin, f.referrer.id);
    f.otherTechnician = await createTechnician(admin, f.referrer.id);
    const receiverCredentials = serviceTitanCredentials();
    credentialsSecrets(receiverCredentials);
    f.receiver = await createCompany(admin, { provider: { type: 'servicetitan', credentials: receiverCredentials } });
    const rotatingCredentials = serviceTitanCredentials();
    credentialsSecrets(rotatingCredentials);
    f.rotating = await createCompany(admin, { provider: { type: 'servicetitan', credentials: rotatingCredentials } });
    f.rotatingConnectionId = (await connectionsOf(f.rotating.id))[0].id;
    const leavingCredentials = housecallProCredentials();
    credentialsSecrets(leavingCredentials);
    f.leaving = await createCompany(admin, { provider: { type: 'housecallpro', credentials: leavingCredentials } });
    f.leavingConnectionId = (await connectionsOf(f.leaving.id))[0].id;

    const companyCreated = await admin.post('/api/api-keys', {
      name: 'referrer app',
      role: 'company',
      companyId: f.referrer.id,
    });
    companyKey = companyCreated.body.key;
    company = apiClient(t.url, companyKey);
    companyKeyId = companyCreated.body.id;
    addSecrets(companyKey);
    const toRevoke = await admin.post('/api/api-keys', { name: 'to revoke', role: 'admin' });
    f.keyToRevoke = toRevoke.body.id;
    addSecrets(toRevoke.body.key);

    // A routing that failed: synced first, then marked failed (as a provider error would leave it).
    const job = await admin.post(
      '/api/jobs',
      jobBody(f.referrer.id, f.technician.id, { targetCompanyIds: [f.receiver.id] }),
    );
    f.failedRoutingId = job.body.routings[0].id;
    await waitForRouting(f.failedRoutingId, 'synced');
    await t.db.query(
      `UPDATE routings SET status = 'failed', next_retry_at = now() + interval '1 day', last_error = 'test' WHERE id = $1`,
      [f.failedRoutingId],
    );
  });
  afterAll(() => t.close());

  type Who = 'ops' | 'bootstrap' | 'company';
  interface Row {
    name: string;
    who: Who;
    send: (caller: { client: ApiClient; key: string }, requestId: string) => Promise<{ status: number; body: any }>;
    status: number;
    events: (res: {
      status: number;
      body: any;
    }) => Promise<{ action: string; resourceType: string; resourceId: string; changes: object }[]>;
  }
  const headers = (requestId: string) => ({ headers: { 'x-request-id': requestId } });
  const created = (fields: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, { old: null, new: v }]));
  const newConnection = async (companyId: string) => {
    const [newest] = await connectionsOf(companyId);
    return newest;
  };
  const rotatedCredentials = serviceTitanCredentials();
  credentialsSecrets(rotatedCredentials);
  const newCompanyCredentials = housecallProCredentials();
  credentialsSecrets(newCompanyCredentials);
  const DASHBOARD_SECRET = `dash-token-${randomUUID()}`;
  addSecrets(DASHBOARD_SECRET);

  const rows: Row[] = [
    {
      name: 'POST /api/api-keys → api_key.created',
      who: 'ops',
      send: ({ client: c }, id) =>
        c.post('/api/api-keys', { name: 'partner app', role: 'company', companyId: f.referrer.id }, headers(id)),
      status: 201,
      events: async (res) => {
        addSecrets(res.body.key);
        return [
          {
            action: 'api_key.created',
            resourceType: 'api_key',
            resourceId: res.body.id,
            changes: {
              ...created({
                name: 'partner app',
                role: 'company',
                companyId: f.referrer.id,
                keyPrefix: res.body.keyPrefix,
              }),
              key: { old: null, new: REDACTED },
            },
          },
        ];
      },
    },
    {
      name: 'DELETE /api/api-keys/:id → api_key.revoked',
      who: 'ops',
      send: ({ client: c }, id) => c.delete(`/api/api-keys/${f.keyToRevoke}`, headers(id)),
      status: 204,
      events: async () => [
        {
          action: 'api_key.revoked',
          resourceType: 'api_key',
          resourceId: f.keyToRevoke,
          changes: { revokedAt: { old: null, new: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) } },
        },
      ],
    },
    {
      name: 'POST /api/companies with a provider → company.created and connection.created',
      who: 'ops',
      send: ({ client: c }, id) =>
        c.post(
          '/api/companies',
          {
            name: 'Audit Electric',
            trades: ['electrical'],
            serviceAreaZips: ['78701'],
            provider: { type: 'housecallpro', credentials: newCompanyCredentials },
          },
          headers(id),
        ),
      status: 201,
      events: async (res) => {
        const connection = await newConnection(res.body.id);
        return [
          {
            action: 'company.created',
            resourceType: 'company',
            resourceId: res.body.id,
            changes: {
              ...created({
                name: 'Audit Electric',
                isActive: true,
                trades: ['electrical'],
                serviceAreaZips: ['78701'],
                'provider.type': 'housecallpro',
                'provider.connectionId': connection.id,
              }),
              'provider.credentials': { old: null, new: REDACTED },
            },
          },
          {
            action: 'connection.created',
            resourceType: 'connection',
            resourceId: connection.id,
            changes: {
              ...created({ companyId: res.body.id, providerType: 'housecallpro', status: 'active' }),
              credentials: { old: null, new: REDACTED },
              webhookToken: { old: null, new: REDACTED },
            },
          },
        ];
      },
    },
    {
      name: 'PATCH /api/companies/:id → company.updated with the changed fields only',
      who: 'ops',
      send: ({ client: c }, id) =>
        c.patch(
          `/api/companies/${f.rotating.id}`,
          { name: 'Rotating Co', trades: ['electrical', 'hvac'], isActive: true },
          headers(id),
        ),
      status: 200,
      events: async () => [
        {
          action: 'company.updated',
          resourceType: 'company',
          resourceId: f.rotating.id,
          changes: {
            name: { old: expect.stringMatching(/^Company \d+$/), new: 'Rotating Co' },
            trades: { old: ['electrical'], new: ['electrical', 'hvac'] },
          },
        },
      ],
    },
    {
      name: 'PATCH /api/companies/:id new credentials → company.updated (credentials redacted), connection.disabled, connection.created',
      who: 'ops',
      send: ({ client: c }, id) =>
        c.patch(
          `/api/companies/${f.rotating.id}`,
          { provider: { type: 'servicetitan', credentials: rotatedCredentials } },
          headers(id),
        ),
      status: 200,
      events: async () => {
        const connection = await newConnection(f.rotating.id);
        return [
          {
            action: 'company.updated',
            resourceType: 'company',
            resourceId: f.rotating.id,
            changes: {
              'provider.connectionId': { old: f.rotatingConnectionId, new: connection.id },
              'provider.credentials': { old: REDACTED, new: REDACTED },
            },
          },
          {
            action: 'connection.disabled',
            resourceType: 'connection',
            resourceId: f.rotatingConnectionId,
            changes: {
              status: { old: 'active', new: 'disabled' },
              statusReason: { old: null, new: `replaced by connection ${connection.id}` },
            },
          },
          {
            action: 'connection.created',
            resourceType: 'connection',
            resourceId: connection.id,
            changes: {
              ...created({ companyId: f.rotating.id, providerType: 'servicetitan', status: 'active' }),
              credentials: { old: null, new: REDACTED },
              webhookToken: { old: null, new: REDACTED },
            },
          },
        ];
      },
    },
    {
      name: 'PATCH /api/companies/:id provider null → company.updated, connection.disabled',
      who: 'ops',
      send: ({ client: c }, id) => c.patch(`/api/companies/${f.leaving.id}`, { provider: null }, headers(id)),
      status: 200,
      events: async () => [
        {
          action: 'company.updated',
          resourceType: 'company',
          resourceId: f.leaving.id,
          changes: {
            'provider.type': { old: 'housecallpro', new: null },
            'provider.connectionId': { old: f.leavingConnectionId, new: null },
            'provider.credentials': { old: REDACTED, new: null },
          },
        },
        {
          action: 'connection.disabled',
          resourceType: 'connection',
          resourceId: f.leavingConnectionId,
          changes: {
            status: { old: 'active', new: 'disabled' },
            statusReason: { old: null, new: 'provider removed from the company' },
          },
        },
      ],
    },
    {
      name: 'POST /api/companies/:id/technicians → technician.created',
      who: 'ops',
      send: ({ client: c }, id) =>
        c.post(
          `/api/companies/${f.referrer.id}/technicians`,
          { firstName: 'Sam', lastName: 'Sparks', email: 'Sam@Example.com', phone: '(512) 555-0199' },
          headers(id),
        ),
      status: 201,
      events: async (res) => [
        {
          action: 'technician.created',
          resourceType: 'technician',
          resourceId: res.body.id,
          changes: created({
            companyId: f.referrer.id,
            firstName: 'Sam',
            lastName: 'Sparks',
            email: 'sam@example.com',
            phone: '+15125550199',
            isActive: true,
          }),
        },
      ],
    },
    {
      name: 'PATCH /api/technicians/:id → technician.updated',
      who: 'ops',
      send: ({ client: c }, id) =>
        c.patch(`/api/technicians/${f.otherTechnician.id}`, { isActive: false, lastName: 'Plumber' }, headers(id)),
      status: 200,
      events: async () => [
        {
          action: 'technician.updated',
          resourceType: 'technician',
          resourceId: f.otherTechnician.id,
          changes: { isActive: { old: true, new: false } },
        },
      ],
    },
    {
      name: 'POST /api/jobs (company key) → job.created',
      who: 'company',
      send: ({ client: c }, id) =>
        c.post(
          '/api/jobs',
          jobBody(f.referrer.id, f.technician.id, { targetCompanyIds: [f.receiver.id] }),
          headers(id),
        ),
      status: 201,
      events: async (res) => [
        {
          action: 'job.created',
          resourceType: 'job',
          resourceId: res.body.id,
          changes: created({
            status: 'open',
            companyId: f.referrer.id,
            technicianId: f.technician.id,
            trade: 'electrical',
            routedCompanyIds: [f.receiver.id],
          }),
        },
      ],
    },
    {
      name: 'POST /api/routings/:id/retry → routing.retried',
      who: 'ops',
      send: ({ client: c }, id) => c.post(`/api/routings/${f.failedRoutingId}/retry`, undefined, headers(id)),
      status: 202,
      events: async () => [
        {
          action: 'routing.retried',
          resourceType: 'routing',
          resourceId: f.failedRoutingId,
          changes: { status: { old: 'failed', new: 'pending' }, attempts: { old: 1, new: 0 } },
        },
      ],
    },
    {
      name: 'POST /api/admin/sweeps/:name/run (bootstrap admin key) → sweep.triggered',
      who: 'bootstrap',
      send: ({ client: c }, id) => c.post('/api/admin/sweeps/poll/run', undefined, headers(id)),
      status: 202,
      events: async (res) => [
        {
          action: 'sweep.triggered',
          resourceType: 'sweep',
          resourceId: res.body.sweepId,
          changes: created({ name: 'poll' }),
        },
      ],
    },
    {
      name: 'Bull Board: add a job → queue.job_added',
      who: 'ops',
      send: async ({ key }, id) => {
        const res = await dashboard(
          t.url,
          key,
          `/queues/${QUEUE.default}/add`,
          { name: 'audit-probe', data: { note: 'by hand', token: DASHBOARD_SECRET }, options: { delay: 3_600_000 } },
          id,
        );
        return { status: res.status, body: await res.json() };
      },
      status: 200,
      events: async (res) => [
        {
          action: 'queue.job_added',
          resourceType: 'queue_job',
          resourceId: `${QUEUE.default}:${res.body.job.id}`,
          changes: created({
            name: 'audit-probe',
            data: { note: 'by hand', token: REDACTED },
            options: { delay: 3_600_000 },
            jobId: String(res.body.job.id),
          }),
        },
      ],
    },
  ];

  describe('each mutating endpoint records exactly its events, with the actor and the changes', () => {
    it.each(rows.map((row) => [row.name, row]))('%s', async (_, row) => {
      const callers: Record<Who, { client: ApiClient; key: string }> = {
        ops: { client: ops, key: opsKey },
        bootstrap: { client: admin, key: TEST_ADMIN_KEY },
        company: { client: company, key: companyKey },
      };
      const actors: Record<Who, object> = {
        ops: { apiKeyId: opsKeyId, role: 'admin', companyId: null },
        bootstrap: { apiKeyId: 'bootstrap-admin', role: 'admin', companyId: null },
        company: { apiKeyId: companyKeyId, role: 'company', companyId: f.referrer.id },
      };
      const before = new Set((await allEvents(admin)).map((e) => e.id));
      const requestId = `audit-${randomUUID()}`;
      const res = await row.send(callers[row.who], requestId);
      expect({ status: res.status, body: res.body }).toMatchObject({ status: row.status });

      const added = (await allEvents(admin)).filter((e) => !before.has(e.id));
      const expected = await row.events(res);
      expect([...added].sort(byActionAndId)).toEqual(
        [...expected].sort(byActionAndId).map((e) => ({
          id: expect.any(String),
          at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
          actor: actors[row.who],
          requestId,
          ...e,
        })),
      );
    });
  });

  it('a failed request (4xx) records nothing', async () => {
    const before = await allEvents(admin);
    const unknown = randomUUID();
    const cases: [Promise<ApiResponse>, number][] = [
      [ops.post('/api/api-keys', { name: 'x', role: 'root' }), 400],
      [ops.post('/api/api-keys', { name: 'x', role: 'company' }), 422],
      [ops.delete(`/api/api-keys/${unknown}`), 404],
      [ops.post('/api/companies', { name: '' }), 400],
      [
        ops.post('/api/companies', { name: 'x', provider: { type: 'servicetitan', credentials: { tenantId: '1' } } }),
        400,
      ],
      [ops.patch(`/api/companies/${unknown}`, { name: 'x' }), 404],
      [ops.patch(`/api/companies/${f.rotating.id}`, { provider: { type: 'nope', credentials: { a: 1 } } }), 400],
      [ops.patch(`/api/companies/${f.rotating.id}`, { name: null }), 400],
      [ops.post(`/api/companies/${unknown}/technicians`, { firstName: 'a', lastName: 'b' }), 404],
      // Refused inside the transaction, after the technician row was written.
      [ops.post(`/api/companies/${f.referrer.id}/technicians`, { firstName: 'a', lastName: 'b', phone: '12' }), 400],
      [ops.patch(`/api/technicians/${unknown}`, { isActive: false }), 404],
      [ops.post('/api/jobs', jobBody(f.referrer.id, unknown)), 422],
      [company.post('/api/jobs', jobBody(f.receiver.id, f.technician.id)), 403],
      [ops.post(`/api/routings/${unknown}/retry`), 404],
      [ops.post('/api/admin/sweeps/vacuum/run'), 400],
      [company.post('/api/companies', { name: 'x' }), 403],
      [company.post('/api/api-keys', { name: 'x', role: 'admin' }), 403],
      [company.post('/api/admin/sweeps/poll/run'), 403],
      [company.post(`/api/routings/${f.failedRoutingId}/retry`), 403],
    ];
    for (const [request, status] of cases) expectProblem(await request, status);
    // A routing that is not failed cannot be retried.
    const synced = await waitForRouting(f.failedRoutingId, 'synced');
    expectProblem(await ops.post(`/api/routings/${synced.id}/retry`), 409);
    // The dashboard refuses a company key, and answers 404 for an unknown queue.
    expect((await dashboard(t.url, companyKey, `/queues/${QUEUE.default}/add`, { name: 'x' })).status).toBe(403);
    expect((await dashboard(t.url, opsKey, '/queues/no-such-queue/add', { name: 'x' })).status).toBe(404);

    expect(await allEvents(admin)).toEqual(before);
  });

  it('a request that changes nothing records nothing (no-op update, second revoke, same credentials, idempotent replay)', async () => {
    const current = (await admin.get(`/api/companies/${f.receiver.id}`)).body;
    const tech = await createTechnician(admin, f.referrer.id);
    const key = (await admin.post('/api/api-keys', { name: 'twice', role: 'admin' })).body;
    addSecrets(key.key);
    expect((await admin.delete(`/api/api-keys/${key.id}`)).status).toBe(204);
    const sameCredentials = serviceTitanCredentials();
    credentialsSecrets(sameCredentials);
    const same = await createCompany(admin, { provider: { type: 'servicetitan', credentials: sameCredentials } });
    const idempotent = { headers: { 'idempotency-key': `audit-${randomUUID()}` } };
    const body = jobBody(f.referrer.id, f.technician.id, { targetCompanyIds: [f.receiver.id] });
    expect((await company.post('/api/jobs', body, idempotent)).status).toBe(201);

    const before = await allEvents(admin);
    expect(
      (await admin.patch(`/api/companies/${f.receiver.id}`, { name: current.name, trades: current.trades })).status,
    ).toBe(200);
    expect((await admin.patch(`/api/technicians/${tech.id}`, { isActive: true })).status).toBe(200);
    expect((await admin.delete(`/api/api-keys/${key.id}`)).status).toBe(204);
    expect(
      (
        await admin.patch(`/api/companies/${same.id}`, {
          provider: { type: 'servicetitan', credentials: sameCredentials },
        })
      ).status,
    ).toBe(200);
    const replay = await company.post('/api/jobs', body, idempotent);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await allEvents(admin)).toEqual(before);
  });

  it('a connection the provider rejects for good: connection.invalidated, by the system', async () => {
    const credentials = serviceTitanCredentials();
    credentialsSecrets(credentials);
    const rejecting = await createCompany(admin, { provider: { type: 'servicetitan', credentials } });
    const [connection] = await connectionsOf(rejecting.id);
    // The sandbox does not know these credentials and registers none on first use: the provider says invalid_client.
    await sandbox.setOptions({ autoRegister: false });
    try {
      const job = await admin.post(
        '/api/jobs',
        jobBody(f.referrer.id, f.technician.id, { targetCompanyIds: [rejecting.id] }),
      );
      await waitForRouting(job.body.routings[0].id, 'permanently_failed');
    } finally {
      await sandbox.setOptions({ autoRegister: true });
    }
    const events = await allEvents(admin, `&resourceId=${connection.id}`);
    expect(events.map((e) => e.action)).toEqual(['connection.invalidated', 'connection.created']);
    expect(events[0]).toEqual({
      id: expect.any(String),
      at: expect.any(String),
      actor: { apiKeyId: null, role: 'system', companyId: null },
      action: 'connection.invalidated',
      resourceType: 'connection',
      resourceId: connection.id,
      requestId: null,
      changes: {
        status: { old: 'active', new: 'invalid' },
        statusReason: { old: null, new: expect.stringMatching(/^ServiceTitan rejected the credentials/) },
      },
    });
  });

  it('no secret the tests set appears anywhere in GET /api/audit-events', async () => {
    // The connections' webhook tokens and the stored ciphertexts are secrets too.
    const stored: { credentials: string; webhook_token: string | null }[] = await t.db.query(
      `SELECT credentials, webhook_token FROM connections`,
    );
    const tokens: string[] = [];
    for (const companyId of [f.receiver.id, f.rotating.id, f.leaving.id]) {
      for (const c of await connectionsOf(companyId))
        tokens.push(c.webhookUrl.slice(c.webhookUrl.lastIndexOf('/') + 1));
    }
    // Short credential values (a tenant id "1001") would match any timestamp; every secret proper is longer.
    const all = [...secrets, ...tokens, ...stored.flatMap((r) => [r.credentials, r.webhook_token ?? ''])].filter(
      (v) => v.length >= 8,
    );
    expect(tokens.length).toBeGreaterThanOrEqual(4);
    expect(all.filter((v) => /^(cs\.secret-|hcp_test_key_|te_|dash-token-)/.test(v)).length).toBeGreaterThan(10);

    const events = await allEvents(admin);
    expect(events.filter((e) => JSON.stringify(e).includes(REDACTED)).length).toBeGreaterThan(5);
    const pages: string[] = [];
    let cursor: string | null = null;
    do {
      const res: ApiResponse = await admin.get(`/api/audit-events?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      pages.push(JSON.stringify([...res.headers]), JSON.stringify(res.body));
      cursor = res.body.nextCursor;
    } while (cursor);
    const text = pages.join('\n');
    for (const secret of all) expect({ secret, found: text.includes(secret) }).toEqual({ secret, found: false });
  });

  describe('reading the trail', () => {
    it('is for admins only: company keys get 403, no key 401', async () => {
      expectProblem(await company.get('/api/audit-events'), 403);
      expectProblem(await apiClient(t.url).get('/api/audit-events'), 401);
    });

    it('filters by action, resourceType, resourceId, actorKeyId and time, newest first', async () => {
      const events = await allEvents(admin);
      const times = events.map((e) => Date.parse(e.at));
      expect(times).toEqual([...times].sort((a, b) => b - a));

      const revoked = await allEvents(admin, '&action=api_key.revoked');
      expect(revoked.length).toBeGreaterThanOrEqual(1);
      expect(revoked.every((e) => e.action === 'api_key.revoked')).toBe(true);

      const ofRotating = await allEvents(admin, `&resourceType=company&resourceId=${f.rotating.id}`);
      expect(ofRotating.map((e) => e.action)).toEqual(['company.updated', 'company.updated', 'company.created']);

      const byOps = await allEvents(admin, `&actorKeyId=${opsKeyId}`);
      expect(byOps.length).toBe(events.filter((e) => e.actor.apiKeyId === opsKeyId).length);
      expect(byOps.length).toBeGreaterThanOrEqual(10);
      expect(await allEvents(admin, '&actorKeyId=bootstrap-admin')).toEqual(
        events.filter((e) => e.actor.apiKeyId === 'bootstrap-admin'),
      );

      const middle = events[Math.floor(events.length / 2)];
      const from = await allEvents(admin, `&from=${middle.at}`);
      expect(from).toEqual(events.filter((e) => Date.parse(e.at) >= Date.parse(middle.at)));
      const to = await allEvents(admin, `&to=${middle.at}`);
      expect(to).toEqual(events.filter((e) => Date.parse(e.at) < Date.parse(middle.at)));
      expect(await allEvents(admin, `&action=company.updated&actorKeyId=${companyKeyId}`)).toEqual([]);
    });

    it('pages with a cursor: every event once, in order', async () => {
      const events = await allEvents(admin);
      const paged: AuditEventBody[] = [];
      let cursor: string | null = null;
      do {
        const res: ApiResponse = await admin.get(`/api/audit-events?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
        expect(res.body.items.length).toBeLessThanOrEqual(3);
        paged.push(...res.body.items);
        cursor = res.body.nextCursor;
      } while (cursor);
      expect(paged).toEqual(events);
    });

    it('refuses bad filters with 400 naming the field', async () => {
      expectProblem(await admin.get('/api/audit-events?limit=0'), 400, 'limit');
      expectProblem(await admin.get('/api/audit-events?from=yesterday'), 400, 'from');
      expectProblem(await admin.get('/api/audit-events?to=0000-01-01T00:00:00Z'), 400, 'to');
      expectProblem(await admin.get(`/api/audit-events?resourceId=${'x'.repeat(201)}`), 400, 'resourceId');
      expectProblem(await admin.get('/api/audit-events?cursor=nope'), 400, 'cursor');
      expectProblem(await admin.get('/api/audit-events?unknown=1'), 400);
    });

    it('is described in the OpenAPI document, with the event shape', async () => {
      const doc = (await fetch(`${t.url}/api/docs-json`).then((r) => r.json())) as any;
      const op = doc.paths['/api/audit-events'].get;
      expect(op.parameters.map((p: { name: string }) => p.name).sort()).toEqual(
        ['action', 'actorKeyId', 'cursor', 'from', 'limit', 'resourceId', 'resourceType', 'to'].sort(),
      );
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403']));
      const event = doc.components.schemas.AuditEventResponse;
      expect(Object.keys(event.properties).sort()).toEqual(
        ['action', 'actor', 'at', 'changes', 'id', 'requestId', 'resourceId', 'resourceType'].sort(),
      );
      expect(event.properties.changes.additionalProperties.$ref).toBe('#/components/schemas/AuditChangeSchema');
      expect(doc.components.schemas.AuditActorResponse.properties.role.enum).toEqual(['admin', 'company', 'system']);
    });
  });

  describe('retention', () => {
    it('the cleanup sweep purges events past AUDIT_RETENTION_DAYS in bounded batches; job archiving removes none', async () => {
      // A job archived by this same sweep keeps its job.created event.
      const job = await admin.post(
        '/api/jobs',
        jobBody(f.referrer.id, f.technician.id, { targetCompanyIds: [f.receiver.id] }),
      );
      await waitForRouting(job.body.routings[0].id, 'synced');
      await t.db.query(`UPDATE routings SET status = 'completed' WHERE job_id = $1`, [job.body.id]);
      await t.db.query(
        `UPDATE jobs SET status = 'completed', finished_at = now() - interval '120 days' WHERE id = $1`,
        [job.body.id],
      );

      const old = 2 * AUDIT_PURGE_BATCH_SIZE + 1;
      await t.db.query(
        `INSERT INTO audit_events (created_at, action, resource_type, resource_id, actor_role, changes)
         SELECT now() - interval '401 days' - g * interval '1 second', 'company.updated', 'company', 'old-' || g, 'system', '{}'
           FROM generate_series(1, $1::int) g`,
        [old],
      );
      await t.db.query(
        `INSERT INTO audit_events (created_at, action, resource_type, resource_id, actor_role, changes)
         SELECT now() - interval '399 days', 'company.updated', 'company', 'kept-' || g, 'system', '{}'
           FROM generate_series(1, 3) g`,
      );
      const [{ n: total }] = await t.db.query(`SELECT count(*)::int AS n FROM audit_events`);
      // Each DELETE statement on audit_events notes how many rows it removed.
      await t.db.query(`CREATE TABLE test_audit_purges (deleted int NOT NULL)`);
      await t.db.query(`
        CREATE FUNCTION test_audit_purge_count() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO test_audit_purges SELECT count(*) FROM gone; RETURN NULL; END $$`);
      await t.db.query(`
        CREATE TRIGGER test_audit_purge_count AFTER DELETE ON audit_events
          REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION test_audit_purge_count()`);
      try {
        expect((await admin.post('/api/admin/sweeps/cleanup/run')).status).toBe(202);
        // Archiving runs before the purge: the purge is done once no old event is left.
        await waitFor(
          async () =>
            (await t.db.query(`SELECT count(*)::int AS n FROM audit_events WHERE resource_id LIKE 'old-%'`))[0].n === 0,
          { what: 'the cleanup sweep', timeoutMs: 30_000 },
        );
        expect(await t.db.query(`SELECT id FROM archived_jobs WHERE id = $1`, [job.body.id])).toHaveLength(1);
        const batches: { deleted: number }[] = await t.db.query(`SELECT deleted FROM test_audit_purges`);
        expect(batches.map((b) => b.deleted)).toEqual([AUDIT_PURGE_BATCH_SIZE, AUDIT_PURGE_BATCH_SIZE, 1]);
      } finally {
        await t.db.query(`DROP TRIGGER test_audit_purge_count ON audit_events`);
        await t.db.query(`DROP FUNCTION test_audit_purge_count()`);
        await t.db.query(`DROP TABLE test_audit_purges`);
      }
      const [left] = await t.db.query(
        `SELECT count(*)::int AS n, count(*) FILTER (WHERE resource_id LIKE 'old-%')::int AS old,
                count(*) FILTER (WHERE resource_id LIKE 'kept-%')::int AS kept FROM audit_events`,
      );
      // Everything else stays, plus the cleanup's own sweep.triggered.
      expect(left).toEqual({ n: total - old + 1, old: 0, kept: 3 });
      expect((await allEvents(admin, `&resourceId=${job.body.id}`)).map((e) => e.action)).toEqual(['job.created']);
    });

    it('audit events are append-only in the database too', async () => {
      await expect(t.db.query(`UPDATE audit_events SET action = 'x'`)).rejects.toThrow(/append-only/);
    });
  });
});

describe('Audit trail - a transaction that fails after its audit event was written leaves neither', () => {
  let t: TestApp;
  let admin: ApiClient;
  let defaultQueue: Queue;

  beforeAll(async () => {
    await flushTestRedis();
    // No worker: what the API queues stays where it was put.
    t = await startTestApp({ ...FAST_SYNC_ENV }, 'api');
    await truncateAll(t.db);
    admin = apiClient(t.url, TEST_ADMIN_KEY);
    defaultQueue = t.app.get<Queue>(getQueueToken(QUEUE.default));
  });
  afterAll(() => t.close());

  /**
   * A test-only trigger in this test database: every transaction that writes an audit event fails at COMMIT, after
   * everything it did (the change and its audit event) was written.
   */
  async function withFailingCommits<T>(work: () => Promise<T>): Promise<T> {
    await t.db.query(`
      CREATE FUNCTION test_refuse_commit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'test: commit refused'; END $$`);
    await t.db.query(`
      CREATE CONSTRAINT TRIGGER test_refuse_commit AFTER INSERT ON audit_events
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_refuse_commit()`);
    try {
      return await work();
    } finally {
      await t.db.query(`DROP TRIGGER test_refuse_commit ON audit_events`);
      await t.db.query(`DROP FUNCTION test_refuse_commit()`);
    }
  }
  const auditCount = async () => (await t.db.query(`SELECT count(*)::int AS n FROM audit_events`))[0].n as number;

  it('company update with new credentials: no event, the old connection still active, the name unchanged', async () => {
    const company = await createCompany(admin);
    const [before] = (await admin.get(`/api/companies/${company.id}/connections`)).body.items;
    const events = await auditCount();
    const res = await withFailingCommits(() =>
      admin.patch(`/api/companies/${company.id}`, {
        name: 'Renamed',
        provider: { type: 'servicetitan', credentials: serviceTitanCredentials() },
      }),
    );
    expect(res.status).toBe(500);
    expect(await auditCount()).toBe(events);
    expect((await admin.get(`/api/companies/${company.id}`)).body).toMatchObject({
      name: company.name,
      provider: { connectionId: before.id, status: 'active' },
    });
    expect((await admin.get(`/api/companies/${company.id}/connections`)).body.items).toEqual([before]);
  });

  it('company, technician, API key and job creation: no event, nothing created', async () => {
    const referrer = await createCompany(admin, { provider: undefined, trades: ['plumbing'] });
    const technician = await createTechnician(admin, referrer.id);
    const receiver = await createCompany(admin);
    const counts = async () =>
      (
        await t.db.query(`SELECT (SELECT count(*) FROM companies)::int AS companies,
          (SELECT count(*) FROM technicians)::int AS technicians, (SELECT count(*) FROM api_keys)::int AS keys,
          (SELECT count(*) FROM jobs)::int AS jobs, (SELECT count(*) FROM routings)::int AS routings,
          (SELECT count(*) FROM connections)::int AS connections, (SELECT count(*) FROM audit_events)::int AS events`)
      )[0];
    const before = await counts();
    const idempotent = { headers: { 'idempotency-key': `rollback-${randomUUID()}` } };
    const body = jobBody(referrer.id, technician.id, { targetCompanyIds: [receiver.id] });
    await withFailingCommits(async () => {
      expect(
        (
          await admin.post('/api/companies', {
            name: 'Never',
            provider: { type: 'housecallpro', credentials: housecallProCredentials() },
          })
        ).status,
      ).toBe(500);
      expect(
        (await admin.post(`/api/companies/${referrer.id}/technicians`, { firstName: 'N', lastName: 'Ever' })).status,
      ).toBe(500);
      expect((await admin.post('/api/api-keys', { name: 'never', role: 'admin' })).status).toBe(500);
      expect((await admin.post('/api/jobs', body, idempotent)).status).toBe(500);
    });
    expect(await counts()).toEqual(before);
    expect(await defaultQueue.getJobCounts()).toMatchObject({ waiting: 0, delayed: 0, prioritized: 0 });
    // The failed request released its Idempotency-Key: the same request now goes through, once.
    expect((await admin.post('/api/jobs', body, idempotent)).status).toBe(201);
    expect(await counts()).toEqual({
      ...before,
      jobs: before.jobs + 1,
      routings: before.routings + 1,
      events: before.events + 1,
    });
  });

  it('routing retry: no event, the routing still failed', async () => {
    const referrer = await createCompany(admin, { provider: undefined, trades: ['plumbing'] });
    const technician = await createTechnician(admin, referrer.id);
    const receiver = await createCompany(admin);
    const job = await admin.post('/api/jobs', jobBody(referrer.id, technician.id, { targetCompanyIds: [receiver.id] }));
    const routingId = job.body.routings[0].id as string;
    await t.db.query(
      `UPDATE routings SET status = 'permanently_failed', attempts = 3, last_error = 'test' WHERE id = $1`,
      [routingId],
    );
    const events = await auditCount();
    const before = (await admin.get(`/api/routings/${routingId}`)).body;
    expect((await withFailingCommits(() => admin.post(`/api/routings/${routingId}/retry`))).status).toBe(500);
    expect(await auditCount()).toBe(events);
    expect((await admin.get(`/api/routings/${routingId}`)).body).toEqual(before);
  });

  it('sweep trigger: no event, and the queued run is taken back', async () => {
    const events = await auditCount();
    const before = await defaultQueue.getJobCounts();
    expect((await withFailingCommits(() => admin.post('/api/admin/sweeps/sync/run'))).status).toBe(500);
    expect(await auditCount()).toBe(events);
    expect(await defaultQueue.getJobCounts()).toEqual(before);
    // Without the failure the same request is queued and recorded.
    expect((await admin.post('/api/admin/sweeps/sync/run')).status).toBe(202);
    expect(await auditCount()).toBe(events + 1);
    expect((await defaultQueue.getJobCounts()).prioritized).toBe(before.prioritized + 1);
  });

  it('queue dashboard job added: no event, and the job is removed again', async () => {
    const events = await auditCount();
    const before = await defaultQueue.getJobCounts();
    const res = await withFailingCommits(() =>
      dashboard(t.url, TEST_ADMIN_KEY, `/queues/${QUEUE.default}/add`, {
        name: 'never',
        options: { delay: 3_600_000 },
      }),
    );
    expect(res.status).toBe(500);
    expect(await auditCount()).toBe(events);
    expect(await defaultQueue.getJobCounts()).toEqual(before);
  });

  it('a connection found invalid (by the system): no event, the connection still active', async () => {
    const company = await createCompany(admin);
    const [connection] = (await admin.get(`/api/companies/${company.id}/connections`)).body.items;
    const events = await auditCount();
    await withFailingCommits(() =>
      expect(t.app.get(ConnectionsService).invalidate(connection.id, 'test')).rejects.toThrow(/commit refused/),
    );
    expect(await auditCount()).toBe(events);
    expect((await admin.get(`/api/companies/${company.id}/connections`)).body.items).toEqual([connection]);
  });
});
