import { Queue } from 'bullmq';

import { DEFAULT_TRADES } from '../../src/config/env';
import { QUEUE } from '../../src/queue/queues';
import { createCompany, createNetwork, createTechnician, jobBody } from '../factories/network.factory';
import { TestApp, flushTestRedis, startTestApp, truncateAll } from '../helpers/app';
import { ApiClient, apiClient, expectProblem } from '../helpers/http';
import { TEST_ADMIN_KEY, TEST_REDIS_URL } from '../test-env';

const ADDRESS = { street: '1 Main St', city: 'Austin', state: 'TX', zip: '78701' };

// API mode: nothing consumes the sync queue, so the test can see exactly what the API enqueued.
describe('Jobs API - /api/jobs', () => {
  let t: TestApp;
  let admin: ApiClient;
  let syncQueue: Queue;

  beforeAll(async () => {
    await flushTestRedis();
    // The default taxonomy plus trades of this file's own, so its routing rules see only its own companies.
    t = await startTestApp(
      { TRADES: [...DEFAULT_TRADES, 'rules_trade', 'other_trade', 'unserved_trade', 'orphan_trade'].join(',') },
      'api',
    );
    // The routing rules look at every company: start from an empty network.
    await truncateAll(t.db);
    admin = apiClient(t.url, TEST_ADMIN_KEY);
    const url = new URL(TEST_REDIS_URL);
    syncQueue = new Queue(QUEUE.sync, {
      connection: { host: url.hostname, port: Number(url.port), db: Number(url.pathname.slice(1)) },
    });
  });
  afterAll(async () => {
    await syncQueue.close();
    await t.close();
  });

  describe('POST /api/jobs', () => {
    it('stores the job with one pending routing per target, normalized, and enqueues one sync job per routing', async () => {
      const { referrer, technician, targets } = await createNetwork(admin, 2);
      const res = await admin.post(
        '/api/jobs',
        jobBody(referrer.id, technician.id, {
          targetCompanyIds: targets.map((c) => c.id),
          address: { street: ' 500  Congress Ave ', unit: 'Apt 4', city: 'Austin', state: 'tx', zip: '78701-1234' },
        }),
      );
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        status: 'open',
        companyId: referrer.id,
        technicianId: technician.id,
        homeowner: { firstName: 'Jane', lastName: 'Doe', phone: '+15125550147', email: 'jane.doe@example.com' },
        address: {
          street: '500 Congress Ave',
          unit: 'Apt 4',
          city: 'Austin',
          state: 'TX',
          zip: '78701-1234',
          country: 'US',
        },
        trade: 'electrical',
        revenueCents: null,
        currency: 'USD',
        completedAt: null,
      });
      expect(res.body.routings).toHaveLength(2);
      expect(res.body.routings.map((r: any) => r.companyId).sort()).toEqual(targets.map((c) => c.id).sort());
      for (const routing of res.body.routings) {
        expect(routing).toMatchObject({
          status: 'pending',
          providerType: 'servicetitan',
          attempts: 0,
          jobId: res.body.id,
          externalId: null,
        });
        const queued = await syncQueue.getJob(routing.id);
        expect(queued?.data).toMatchObject({ routingId: routing.id });
      }
      expect(res.headers.get('x-request-id')).toBeTruthy();

      const read = await admin.get(`/api/jobs/${res.body.id}`);
      expect(read.status).toBe(200);
      expect(read.body).toEqual(res.body);
    });

    it('routes by the rules when no targets are given: trade, service area, active, configured, not the referrer', async () => {
      const trade = 'rules_trade';
      const referrer = await createCompany(admin, { trades: [trade] }); // has a provider but is the referrer
      const technician = await createTechnician(admin, referrer.id);
      const match = await createCompany(admin, { trades: [trade], serviceAreaZips: ['73301'] });
      const matchHcp = await createCompany(admin, {
        trades: [trade],
        provider: { type: 'housecallpro', credentials: { apiKey: 'hcp_key_rules' } },
      });
      await createCompany(admin, { trades: [trade], serviceAreaZips: ['10001'] }); // outside the area
      await createCompany(admin, { trades: [trade], isActive: false }); // inactive
      await createCompany(admin, { trades: [trade], provider: undefined }); // nothing to sync to
      await createCompany(admin, { trades: ['other_trade'] }); // other trade

      const res = await admin.post(
        '/api/jobs',
        jobBody(referrer.id, technician.id, {
          trade,
          address: { street: '1 Main St', city: 'Austin', state: 'TX', zip: '73301-0001' },
        }),
      );
      expect(res.status).toBe(201);
      const routed = res.body.routings.map((r: any) => [r.companyId, r.providerType]).sort();
      expect(routed).toEqual(
        [
          [match.id, 'servicetitan'],
          [matchHcp.id, 'housecallpro'],
        ].sort(),
      );
    });

    it('answers 201 unrouted with no routings when no company matches, saying why, and keeps the reason', async () => {
      const { referrer, technician } = await createNetwork(admin, 0);
      await createCompany(admin, { trades: ['unserved_trade'], serviceAreaZips: ['10001'] });
      const cases: [Record<string, unknown>, string][] = [
        [{ trade: 'unserved_trade', address: { ...ADDRESS, zip: '78702' } }, 'no_company_serving_zip'],
        [{ trade: 'orphan_trade' }, 'no_company_for_trade'],
        [{ targetCompanyIds: [] }, 'no_targets'],
      ];
      for (const [overrides, reason] of cases) {
        const res = await admin.post('/api/jobs', jobBody(referrer.id, technician.id, overrides));
        expect({ reason, status: res.status }).toEqual({ reason, status: 201 });
        expect(res.body).toMatchObject({ status: 'unrouted', unroutedReason: reason, routings: [] });
        expect((await admin.get(`/api/jobs/${res.body.id}`)).body.unroutedReason).toBe(reason);
      }
      const routed = await createNetwork(admin, 1);
      const job = await admin.post(
        '/api/jobs',
        jobBody(routed.referrer.id, routed.technician.id, { targetCompanyIds: [routed.targets[0].id] }),
      );
      expect(job.body).toMatchObject({ status: 'open', unroutedReason: null });
    });

    it('400 for a trade outside the taxonomy, listing the accepted trades', async () => {
      const { referrer, technician, targets } = await createNetwork(admin, 1);
      const res = await admin.post(
        '/api/jobs',
        jobBody(referrer.id, technician.id, { trade: 'electrcal', targetCompanyIds: [targets[0].id] }),
      );
      const problem = expectProblem(res, 400, 'trade');
      const message: string = problem.errors.find((e: { field: string }) => e.field === 'trade').message;
      expect(message).toContain('plumbing, electrical, hvac, roofing');
      expect(message).toContain('rules_trade');
      expect(message).not.toContain('electrcal');
      // Any case, trimmed: the taxonomy's spelling is stored.
      const ok = await admin.post(
        '/api/jobs',
        jobBody(referrer.id, technician.id, { trade: ' HVAC ', targetCompanyIds: [targets[0].id] }),
      );
      expect(ok.body).toMatchObject({ trade: 'hvac' });
    });

    it('reports every error of a body at once: unknown field, bad state, no phone or email, bad nested fields', async () => {
      const { referrer, technician } = await createNetwork(admin, 0);
      const body = jobBody(referrer.id, technician.id, {
        homeowner: { firstName: '', lastName: 'Doe' },
        address: { ...ADDRESS, state: 'XX' },
        trade: 'electrcal',
        color: 'blue',
      });
      const problem = expectProblem(await admin.post('/api/jobs', body), 400);
      expect(problem.errors.map((e: { field: string }) => e.field).sort()).toEqual(
        ['address.state', 'color', 'homeowner', 'homeowner.firstName', 'trade'].sort(),
      );
      expect(problem.errors).toContainEqual({ field: 'homeowner', message: 'needs a phone or an email' });
      expect(problem.errors).toContainEqual({ field: 'color', message: 'should not exist' });
      // One message per field: the first check that failed.
      expect(new Set(problem.errors.map((e: { field: string }) => e.field)).size).toBe(problem.errors.length);
    });

    it('422 names each target that cannot receive, and stores nothing', async () => {
      const { referrer, technician, targets } = await createNetwork(admin, 1);
      const inactive = await createCompany(admin, { isActive: false });
      const before = await t.db.query('SELECT count(*)::int AS n FROM jobs');
      const res = await admin.post(
        '/api/jobs',
        jobBody(referrer.id, technician.id, {
          targetCompanyIds: [targets[0].id, inactive.id, '00000000-0000-4000-8000-000000000000'],
        }),
      );
      const problem = expectProblem(res, 422);
      expect(problem.errors).toEqual([
        { field: 'targetCompanyIds[1]', message: 'company is inactive' },
        { field: 'targetCompanyIds[2]', message: 'company does not exist' },
      ]);
      expect(await t.db.query('SELECT count(*)::int AS n FROM jobs')).toEqual(before);
    });

    it('422 for an unknown company or a technician of another company', async () => {
      const a = await createNetwork(admin, 1);
      const b = await createNetwork(admin, 0);
      expectProblem(
        await admin.post('/api/jobs', jobBody(a.referrer.id, b.technician.id, { targetCompanyIds: [a.targets[0].id] })),
        422,
        'technicianId',
      );
      expectProblem(
        await admin.post('/api/jobs', jobBody('00000000-0000-4000-8000-000000000001', a.technician.id)),
        422,
        'companyId',
      );
    });

    it('needs a phone or an email and rejects an invalid phone', async () => {
      const { referrer, technician, targets } = await createNetwork(admin, 1);
      const base = jobBody(referrer.id, technician.id, { targetCompanyIds: [targets[0].id] });
      expectProblem(
        await admin.post('/api/jobs', { ...base, homeowner: { firstName: 'A', lastName: 'B' } }),
        400,
        'homeowner',
      );
      expectProblem(
        await admin.post('/api/jobs', { ...base, homeowner: { firstName: 'A', lastName: 'B', phone: '12345' } }),
        400,
        'homeowner.phone',
      );
      const emailOnly = await admin.post('/api/jobs', {
        ...base,
        homeowner: { firstName: 'A', lastName: 'B', email: 'a@b.example' },
      });
      expect(emailOnly.status).toBe(201);
      expect(emailOnly.body.homeowner).toEqual({ firstName: 'A', lastName: 'B', phone: null, email: 'a@b.example' });
    });
  });

  describe('Idempotency-Key', () => {
    it('replays the first response for the same key and body, without a second job', async () => {
      const { referrer, technician, targets } = await createNetwork(admin, 1);
      const body = jobBody(referrer.id, technician.id, { targetCompanyIds: [targets[0].id] });
      const key = `idem-${Date.now()}`;
      const first = await admin.post('/api/jobs', body, { headers: { 'idempotency-key': key } });
      expect(first.status).toBe(201);
      expect(first.headers.get('idempotent-replayed')).toBeNull();
      // Same body with its keys in another order is the same request.
      const reordered = Object.fromEntries(Object.entries(body).reverse());
      const second = await admin.post('/api/jobs', reordered, { headers: { 'idempotency-key': key } });
      expect(second.status).toBe(201);
      expect(second.headers.get('idempotent-replayed')).toBe('true');
      expect(second.body).toEqual(first.body);
      const [{ n }] = await t.db.query('SELECT count(*)::int AS n FROM jobs WHERE technician_id = $1', [technician.id]);
      expect(n).toBe(1);
    });

    it('422 for the same key with a different body', async () => {
      const { referrer, technician, targets } = await createNetwork(admin, 1);
      const body = jobBody(referrer.id, technician.id, { targetCompanyIds: [targets[0].id] });
      const key = `idem-diff-${Date.now()}`;
      expect((await admin.post('/api/jobs', body, { headers: { 'idempotency-key': key } })).status).toBe(201);
      expectProblem(
        await admin.post('/api/jobs', { ...body, summary: 'something else' }, { headers: { 'idempotency-key': key } }),
        422,
        'Idempotency-Key',
      );
    });

    it('409 while the first request with the key is still in progress', async () => {
      const { referrer, technician, targets } = await createNetwork(admin, 1);
      const body = jobBody(referrer.id, technician.id, { targetCompanyIds: [targets[0].id] });
      const key = `idem-race-${Date.now()}`;
      // Hold a lock on the companies row the first request must read... simpler: race many identical requests.
      const results = await Promise.all(
        Array.from({ length: 8 }, () => admin.post('/api/jobs', body, { headers: { 'idempotency-key': key } })),
      );
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(1);
      expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
      for (const r of results.filter((r) => r.status === 409)) expectProblem(r, 409);
      const [{ n }] = await t.db.query('SELECT count(*)::int AS n FROM jobs WHERE technician_id = $1', [technician.id]);
      expect(n).toBe(1);
    });

    it('reports 409 deterministically for a claimed key without a response', async () => {
      const { referrer, technician, targets } = await createNetwork(admin, 1);
      const key = `idem-held-${Date.now()}`;
      const body = jobBody(referrer.id, technician.id, { targetCompanyIds: [targets[0].id] });
      const { requestFingerprint } = await import('../../src/jobs/idempotency');
      await t.db.query(`INSERT INTO idempotency_keys (scope, key, fingerprint) VALUES ('bootstrap-admin', $1, $2)`, [
        key,
        requestFingerprint('POST', '/api/jobs', body),
      ]);
      expectProblem(await admin.post('/api/jobs', body, { headers: { 'idempotency-key': key } }), 409);
    });

    it('scopes keys to the API key that sent them', async () => {
      const { referrer, technician, targets } = await createNetwork(admin, 1);
      const companyKey = (
        await admin.post('/api/api-keys', { name: 'scoped', role: 'company', companyId: referrer.id })
      ).body.key;
      const body = jobBody(referrer.id, technician.id, { targetCompanyIds: [targets[0].id] });
      const key = `idem-scope-${Date.now()}`;
      const a = await admin.post('/api/jobs', body, { headers: { 'idempotency-key': key } });
      const b = await apiClient(t.url, companyKey).post('/api/jobs', body, { headers: { 'idempotency-key': key } });
      expect([a.status, b.status]).toEqual([201, 201]);
      expect(b.headers.get('idempotent-replayed')).toBeNull();
      expect(b.body.id).not.toBe(a.body.id);
    });

    it('rejects an oversized key', async () => {
      const { referrer, technician } = await createNetwork(admin, 0);
      expectProblem(
        await admin.post('/api/jobs', jobBody(referrer.id, technician.id), {
          headers: { 'idempotency-key': 'k'.repeat(256) },
        }),
        400,
        'Idempotency-Key',
      );
    });
  });

  describe('GET /api/jobs', () => {
    it('pages through many jobs newest first with no gap and no duplicate', async () => {
      const { referrer, technician } = await createNetwork(admin, 0);
      // Many rows share a created_at millisecond: the cursor must still be exact.
      await t.db.query(
        `INSERT INTO jobs (status, company_id, technician_id, homeowner, address, summary, created_at)
         SELECT 'unrouted', $1, $2, '{"firstName":"A","lastName":"B","phone":null,"email":"a@b.c"}',
                '{"street":"1 Main","unit":null,"city":"X","state":"TX","zip":"78701","country":"US"}', 'bulk ' || g,
                '2026-01-01T00:00:00Z'::timestamptz + (g / 7) * interval '1 millisecond'
         FROM generate_series(1, 523) g`,
        [referrer.id, technician.id],
      );
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: any = await admin.get(
          `/api/jobs?companyId=${referrer.id}&limit=50${cursor ? `&cursor=${cursor}` : ''}`,
        );
        expect(res.status).toBe(200);
        seen.push(...res.body.items.map((j: any) => j.id));
        cursor = res.body.nextCursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(11);
      expect(seen).toHaveLength(523);
      expect(new Set(seen).size).toBe(523);
      const [{ ids }] = await t.db.query(
        `SELECT array_agg(id ORDER BY created_at DESC, id DESC) AS ids FROM jobs WHERE company_id = $1`,
        [referrer.id],
      );
      expect(seen).toEqual(ids);
    });

    it('filters by status, trade and creation time', async () => {
      const { referrer, technician, targets } = await createNetwork(admin, 1);
      const from = new Date().toISOString();
      await admin.post(
        '/api/jobs',
        jobBody(referrer.id, technician.id, { trade: 'roofing', targetCompanyIds: [targets[0].id] }),
      );
      await admin.post('/api/jobs', jobBody(referrer.id, technician.id, { trade: 'unserved_trade' }));
      const open = await admin.get(`/api/jobs?companyId=${referrer.id}&status=open&createdFrom=${from}`);
      expect(open.body.items.map((j: any) => j.trade)).toEqual(['roofing']);
      const roofing = await admin.get(`/api/jobs?companyId=${referrer.id}&trade=roofing`);
      expect(roofing.body.items).toHaveLength(1);
      expect(roofing.body.items[0].routings).toHaveLength(1);
      const before = await admin.get(`/api/jobs?companyId=${referrer.id}&createdTo=${from}`);
      expect(before.body.items).toHaveLength(0);
    });

    it('404 for an unknown id, 400 for a malformed one', async () => {
      expectProblem(await admin.get('/api/jobs/00000000-0000-4000-8000-000000000000'), 404);
      expectProblem(await admin.get('/api/jobs/not-a-uuid'), 400, 'id');
      expectProblem(await admin.get('/api/jobs?cursor=garbage'), 400, 'cursor');
      expectProblem(await admin.get('/api/jobs?limit=0'), 400, 'limit');
      expectProblem(await admin.get('/api/jobs?limit=201'), 400, 'limit');
    });

    it.each([
      ['limit=abc', 'limit', 'must be an integer'],
      ['limit=1.5', 'limit', 'must be an integer'],
      ['limit=', 'limit', 'must be an integer'],
      ['limit=0', 'limit', 'must not be less than 1'],
      ['createdFrom=2020-02-30', 'createdFrom', 'must be an ISO 8601 date or date-time'],
      ['createdTo=2021-02-29T00:00:00Z', 'createdTo', 'must be an ISO 8601 date or date-time'],
      ['createdFrom=Jan%201%202020', 'createdFrom', 'must be an ISO 8601 date or date-time'],
      ['createdFrom=2020-01-01T24:00:00Z', 'createdFrom', 'must be an ISO 8601 date or date-time'],
    ])('validates numbers and dates strictly: ?%s', async (query, field, message) => {
      const problem = expectProblem(await admin.get(`/api/jobs?${query}`), 400, field);
      expect(problem.errors).toEqual([{ field, message }]);
    });

    it('takes a date alone as midnight UTC', async () => {
      const res = await admin.get('/api/jobs?createdFrom=2020-02-29&createdTo=2999-01-01T00:00:00%2B02:00');
      expect(res.status).toBe(200);
    });
  });
});
