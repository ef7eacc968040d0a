import {
  createCompany,
  createNetwork,
  createTechnician,
  jobBody,
  serviceTitanCredentials,
} from '../factories/network.factory';
import { TestApp, flushTestRedis, startTestApp } from '../helpers/app';
import { ApiClient, apiClient, expectProblem } from '../helpers/http';
import { TEST_ADMIN_KEY } from '../test-env';

describe('API keys, companies and technicians', () => {
  let t: TestApp;
  let admin: ApiClient;

  beforeAll(async () => {
    await flushTestRedis();
    t = await startTestApp({ API_RATE_LIMIT_PER_MINUTE: '100000' }, 'api');
    admin = apiClient(t.url, TEST_ADMIN_KEY);
  });
  afterAll(() => t.close());

  describe('authentication - every /api route', () => {
    it.each([
      ['no header', undefined],
      ['an unknown key', 'Bearer te_unknown_key'],
      ['a non-Bearer scheme', `Basic ${TEST_ADMIN_KEY}`],
    ])('401 problem+json with %s', async (_, authorization) => {
      const res = await apiClient(t.url).get('/api/jobs', { headers: authorization ? { authorization } : {} });
      expectProblem(res, 401);
      expect(res.headers.get('x-request-id')).toBe(res.body.requestId);
    });

    it('keeps the caller request id', async () => {
      const res = await admin.get('/api/jobs/not-a-uuid', { headers: { 'x-request-id': 'req-abc.123' } });
      expect(res.headers.get('x-request-id')).toBe('req-abc.123');
      expect(res.body.requestId).toBe('req-abc.123');
    });

    it('health and metrics need no key', async () => {
      expect((await apiClient(t.url).get('/api/health/live')).status).toBe(200);
      const ready = await apiClient(t.url).get('/api/health/ready');
      expect(ready.status).toBe(200);
      // An API pod's readiness is the database alone (SPEC section 12: it keeps accepting jobs without Redis).
      expect(ready.body).toMatchObject({ status: 'ok', info: { database: { status: 'up' } } });
      expect(ready.body.info.redis).toBeUndefined();
      const metrics = await apiClient(t.url).get('/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.body).toContain('jobs_created_total');
    });

    it('sets security headers', async () => {
      const res = await admin.get('/api/jobs');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-powered-by')).toBeNull();
    });
  });

  describe('POST/GET/DELETE /api/api-keys', () => {
    it('creates a company key shown once, stores only its hash, and revokes it at once', async () => {
      const company = await createCompany(admin);
      const created = await admin.post('/api/api-keys', { name: 'mobile app', role: 'company', companyId: company.id });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        name: 'mobile app',
        role: 'company',
        companyId: company.id,
        revokedAt: null,
      });
      expect(created.body.key).toMatch(/^te_/);
      const [row] = await t.db.query('SELECT key_hash FROM api_keys WHERE id = $1', [created.body.id]);
      expect(row.key_hash).not.toContain(created.body.key);

      const list = await admin.get('/api/api-keys?limit=200');
      const listed = list.body.items.find((k: any) => k.id === created.body.id);
      expect(listed).toBeDefined();
      expect(listed.key).toBeUndefined();
      expect(JSON.stringify(list.body)).not.toContain(created.body.key);

      const companyClient = apiClient(t.url, created.body.key);
      expect((await companyClient.get('/api/jobs')).status).toBe(200);
      expect((await admin.delete(`/api/api-keys/${created.body.id}`)).status).toBe(204);
      expectProblem(await companyClient.get('/api/jobs'), 401);
      expectProblem(await admin.delete('/api/api-keys/00000000-0000-4000-8000-000000000000'), 404);
    });

    it('validates role and company binding', async () => {
      const company = await createCompany(admin);
      expectProblem(await admin.post('/api/api-keys', { name: 'x', role: 'root' }), 400, 'role');
      expectProblem(await admin.post('/api/api-keys', { name: 'x', role: 'company' }), 422, 'companyId');
      expectProblem(
        await admin.post('/api/api-keys', { name: 'x', role: 'admin', companyId: company.id }),
        422,
        'companyId',
      );
      expectProblem(
        await admin.post('/api/api-keys', {
          name: 'x',
          role: 'company',
          companyId: '00000000-0000-4000-8000-000000000000',
        }),
        422,
        'companyId',
      );
      const adminKey = await admin.post('/api/api-keys', { name: 'second admin', role: 'admin' });
      expect(adminKey.status).toBe(201);
      expect((await apiClient(t.url, adminKey.body.key).get('/api/companies')).status).toBe(200);
    });
  });

  describe('company role scoping', () => {
    let own: Awaited<ReturnType<typeof createNetwork>>;
    let other: Awaited<ReturnType<typeof createNetwork>>;
    let company: ApiClient;
    let ownJobId: string;
    let otherJobId: string;

    beforeAll(async () => {
      own = await createNetwork(admin, 1);
      other = await createNetwork(admin, 1);
      // Our company also receives referrals, so it needs a provider.
      await admin.patch(`/api/companies/${own.referrer.id}`, {
        provider: { type: 'housecallpro', credentials: { apiKey: 'hcp_scoping' } },
      });
      company = apiClient(
        t.url,
        (await admin.post('/api/api-keys', { name: 'own', role: 'company', companyId: own.referrer.id })).body.key,
      );
      ownJobId = (
        await company.post(
          '/api/jobs',
          jobBody(own.referrer.id, own.technician.id, { targetCompanyIds: [own.targets[0].id] }),
        )
      ).body.id;
      // The other network refers a job to our company: that routing is addressed to us.
      otherJobId = (
        await admin.post(
          '/api/jobs',
          jobBody(other.referrer.id, other.technician.id, { targetCompanyIds: [own.referrer.id] }),
        )
      ).body.id;
    });

    it('cannot use admin endpoints (403)', async () => {
      expectProblem(await company.get('/api/companies'), 403);
      expectProblem(await company.post('/api/api-keys', { name: 'x', role: 'admin' }), 403);
      expectProblem(await company.get('/api/api-keys'), 403);
      expectProblem(
        await company.post(`/api/companies/${own.referrer.id}/technicians`, { firstName: 'a', lastName: 'b' }),
        403,
      );
    });

    it('reads its own company and lists its technicians, and sees no other company (404)', async () => {
      const read = await company.get(`/api/companies/${own.referrer.id}`);
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({ id: own.referrer.id, provider: { type: 'housecallpro', configured: true } });
      const technicians = await company.get(`/api/companies/${own.referrer.id}/technicians`);
      expect(technicians.status).toBe(200);
      expect(technicians.body.items.map((x: { id: string }) => x.id)).toEqual([own.technician.id]);
      expectProblem(await company.get(`/api/companies/${other.referrer.id}`), 404);
      expectProblem(await company.get(`/api/companies/${other.referrer.id}/technicians`), 404);
      expectProblem(await company.patch(`/api/companies/${own.referrer.id}`, { name: 'mine now' }), 403);
    });

    it('creates jobs only for its own company', async () => {
      expectProblem(
        await company.post(
          '/api/jobs',
          jobBody(other.referrer.id, other.technician.id, { targetCompanyIds: [other.targets[0].id] }),
        ),
        403,
      );
    });

    it('reads only the jobs its company created', async () => {
      expect((await company.get(`/api/jobs/${ownJobId}`)).status).toBe(200);
      expectProblem(await company.get(`/api/jobs/${otherJobId}`), 404);
      const list = await company.get('/api/jobs?limit=200');
      expect(list.body.items.map((j: any) => j.id)).toEqual([ownJobId]);
      expectProblem(await company.get(`/api/jobs?companyId=${other.referrer.id}`), 403);
    });

    it('reads only routings addressed to its company, and cannot retry', async () => {
      const list = await company.get('/api/routings?limit=200');
      expect(list.status).toBe(200);
      expect(list.body.items).toHaveLength(1);
      expect(list.body.items[0]).toMatchObject({ jobId: otherJobId, companyId: own.referrer.id });
      expect((await company.get(`/api/routings/${list.body.items[0].id}`)).status).toBe(200);
      const ownJob = await admin.get(`/api/jobs/${ownJobId}`);
      expectProblem(await company.get(`/api/routings/${ownJob.body.routings[0].id}`), 404);
      expectProblem(await company.post(`/api/routings/${list.body.items[0].id}/retry`), 403);
    });
  });

  describe('companies and technicians', () => {
    it('creates a company with encrypted credentials that are never returned', async () => {
      const credentials = serviceTitanCredentials();
      const res = await admin.post('/api/companies', {
        name: '  Sparky Electric ',
        trades: ['Electrical', 'electrical'],
        serviceAreaZips: ['78701'],
        provider: { type: 'servicetitan', credentials },
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        name: 'Sparky Electric',
        isActive: true,
        trades: ['electrical'],
        serviceAreaZips: ['78701'],
        provider: { type: 'servicetitan', configured: true, connectionId: expect.any(String), status: 'active' },
      });
      expect(JSON.stringify(res.body)).not.toContain(credentials.clientSecret);
      const [row] = await t.db.query('SELECT credentials FROM connections WHERE id = $1', [
        res.body.provider.connectionId,
      ]);
      expect(row.credentials).toMatch(/^v1\./);
      expect(row.credentials).not.toContain(credentials.clientSecret);
      const read = await admin.get(`/api/companies/${res.body.id}`);
      expect(JSON.stringify(read.body)).not.toContain(credentials.clientSecret);
    });

    it('rejects credentials of the wrong shape naming the field, without echoing them', async () => {
      const res = await admin.post('/api/companies', {
        name: 'Bad creds',
        provider: {
          type: 'servicetitan',
          credentials: { tenantId: '1', clientId: 'c', bookingProviderId: '2', apiKey: 'leak-me-not' },
        },
      });
      const problem = expectProblem(res, 400);
      expect(problem.errors[0].field).toMatch(/^provider\.credentials/);
      expect(JSON.stringify(problem)).not.toContain('leak-me-not');
      expectProblem(
        await admin.post('/api/companies', { name: 'x', provider: { type: 'jobber', credentials: { a: 1 } } }),
        400,
        'provider.type',
      );
    });

    it('names every bad credential field at once, once the rest of the body is valid', async () => {
      const res = await admin.post('/api/companies', {
        name: 'Half creds',
        trades: ['electrcal'],
        provider: { type: 'servicetitan', credentials: { tenantId: 'abc', clientSecret: 'leak-me-not' } },
      });
      const problem = expectProblem(res, 400);
      expect(problem.errors).toEqual([
        { field: 'trades', message: expect.stringMatching(/^each value must be one of the trades: /) },
      ]);
      // The credentials are checked by the provider once the body's shape is right.
      const fixed = await admin.post('/api/companies', {
        name: 'Half creds',
        provider: { type: 'servicetitan', credentials: { tenantId: 'abc', clientSecret: 'leak-me-not' } },
      });
      expect(expectProblem(fixed, 400).errors).toEqual([
        { field: 'provider.credentials.tenantId', message: 'must be an integer id (digits only)' },
        { field: 'provider.credentials.clientId', message: 'is required' },
        { field: 'provider.credentials.bookingProviderId', message: 'is required' },
      ]);
      expect(JSON.stringify(fixed.body)).not.toContain('leak-me-not');
    });

    it('updates: deactivate, change provider, remove provider', async () => {
      const company = await createCompany(admin);
      const off = await admin.patch(`/api/companies/${company.id}`, { isActive: false });
      expect(off.body.isActive).toBe(false);
      const hcp = await admin.patch(`/api/companies/${company.id}`, {
        provider: { type: 'housecallpro', credentials: { apiKey: 'k_123' } },
      });
      expect(hcp.body.provider).toEqual({
        type: 'housecallpro',
        configured: true,
        connectionId: expect.any(String),
        status: 'active',
      });
      const none = await admin.patch(`/api/companies/${company.id}`, { provider: null });
      expect(none.body.provider).toBeNull();
      expectProblem(await admin.patch('/api/companies/00000000-0000-4000-8000-000000000000', { isActive: true }), 404);
    });

    it('lists companies with cursor pagination', async () => {
      for (let i = 0; i < 3; i++) await createCompany(admin);
      const first = await admin.get('/api/companies?limit=2');
      expect(first.body.items).toHaveLength(2);
      expect(first.body.nextCursor).toEqual(expect.any(String));
      const second = await admin.get(`/api/companies?limit=2&cursor=${first.body.nextCursor}`);
      expect(second.body.items[0].id).not.toBe(first.body.items[1].id);
    });

    it('adds technicians with E.164 phones, lists them, and deactivates them', async () => {
      const company = await createCompany(admin);
      const tech = await admin.post(`/api/companies/${company.id}/technicians`, {
        firstName: 'Sam',
        lastName: 'Sparks',
        phone: '512-555-0100',
        email: 'Sam@X.example',
      });
      expect(tech.status).toBe(201);
      expect(tech.body).toMatchObject({
        companyId: company.id,
        phone: '+15125550100',
        email: 'sam@x.example',
        isActive: true,
      });
      expectProblem(
        await admin.post(`/api/companies/${company.id}/technicians`, { firstName: 'A', lastName: 'B', phone: 'abc' }),
        400,
        'phone',
      );
      expectProblem(
        await admin.post('/api/companies/00000000-0000-4000-8000-000000000000/technicians', {
          firstName: 'A',
          lastName: 'B',
        }),
        404,
      );
      const list = await admin.get(`/api/companies/${company.id}/technicians`);
      expect(list.body.items.map((x: any) => x.id)).toEqual([tech.body.id]);
      const off = await admin.patch(`/api/technicians/${tech.body.id}`, { isActive: false });
      expect(off.body.isActive).toBe(false);
      // An inactive technician cannot refer.
      const target = await createCompany(admin);
      expectProblem(
        await admin.post('/api/jobs', jobBody(company.id, tech.body.id, { targetCompanyIds: [target.id] })),
        422,
        'technicianId',
      );
      await createTechnician(admin, company.id);
    });
  });
});
