import { SandboxControl } from '../../src/sandbox/sandbox-control.client';
import { createNetwork, jobBody } from '../factories/network.factory';
import { TestApp, flushTestRedis, startTestApp, truncateAll } from '../helpers/app';
import { ApiClient, apiClient } from '../helpers/http';
import { waitFor } from '../helpers/wait';
import { FAST_SYNC_ENV, TEST_ADMIN_KEY } from '../test-env';

describe('Sync engine (all mode, sandbox over HTTP)', () => {
  let t: TestApp;
  let admin: ApiClient;
  let sandbox: SandboxControl;

  beforeAll(async () => {
    await flushTestRedis();
    t = await startTestApp(FAST_SYNC_ENV, 'all');
    // Sweeps take the oldest rows first: leave no other test file's routings in the way.
    await truncateAll(t.db);
    admin = apiClient(t.url, TEST_ADMIN_KEY);
    sandbox = new SandboxControl(t.sandbox.url);
  });
  afterEach(async () => {
    await sandbox.clearFaults('servicetitan');
    await sandbox.clearFaults('housecallpro');
  });
  afterAll(() => t.close());

  async function referral(receivers: { provider?: 'servicetitan' | 'housecallpro' } = {}) {
    const overrides =
      receivers.provider === 'housecallpro'
        ? { provider: { type: 'housecallpro', credentials: { apiKey: `hcp_${Date.now()}_${Math.random()}` } } }
        : {};
    const { referrer, technician, targets } = await createNetwork(admin, 1, overrides);
    const res = await admin.post(
      '/api/jobs',
      jobBody(referrer.id, technician.id, { targetCompanyIds: [targets[0].id] }),
    );
    expect(res.status).toBe(201);
    return { job: res.body, routingId: res.body.routings[0].id as string };
  }

  const routing = async (id: string) => (await admin.get(`/api/routings/${id}`)).body;
  const waitForStatus = (id: string, status: string, timeoutMs = 15_000) =>
    waitFor(
      async () => {
        const r = await routing(id);
        return r.status === status ? r : null;
      },
      { timeoutMs, what: `routing ${id} to be ${status}` },
    );

  it('a new job reaches synced without any sweep, then polling brings completed with revenue (ServiceTitan)', async () => {
    const { job, routingId } = await referral();
    const synced = await waitForStatus(routingId, 'synced');
    expect(synced).toMatchObject({
      attempts: 1,
      providerStatus: 'received',
      lastError: null,
      externalId: expect.any(String),
    });
    const bookings = (await sandbox.serviceTitanRecords()).bookings.filter((b: any) => b.externalId === routingId);
    expect(bookings).toHaveLength(1);
    expect(String(bookings[0].id)).toBe(synced.externalId);

    await sandbox.scheduleBooking(synced.externalId);
    expect((await admin.post('/api/admin/sweeps/poll/run')).status).toBe(202);
    await waitFor(async () => (await routing(routingId)).providerStatus === 'scheduled', { what: 'scheduled' });

    await sandbox.completeBooking(synced.externalId, 123_450);
    await admin.post('/api/admin/sweeps/poll/run');
    const completed = await waitForStatus(routingId, 'completed');
    expect(completed).toMatchObject({
      providerStatus: 'completed',
      providerStatusRaw: 'Completed',
      revenueCents: 123_450,
    });
    expect(completed.completedAt).toEqual(expect.any(String));
    const finished = (await admin.get(`/api/jobs/${job.id}`)).body;
    expect(finished).toMatchObject({ status: 'completed', revenueCents: 123_450, completedAt: completed.completedAt });
    expect(completed.events.map((e: any) => e.type)).toEqual([
      'created',
      'sync_attempt',
      'status_change',
      'poll',
      'poll',
      'status_change',
    ]);
  });

  it('Housecall Pro: synced as a tagged job, then canceled by the provider cancels the job', async () => {
    const { job, routingId } = await referral({ provider: 'housecallpro' });
    const synced = await waitForStatus(routingId, 'synced');
    const hcpJob = (await sandbox.housecallProRecords()).jobs.find((j: any) => j.id === synced.externalId);
    expect(hcpJob?.tags).toContain(`te-routing-${routingId}`);
    await sandbox.cancelHcpJob(synced.externalId);
    await admin.post('/api/admin/sweeps/poll/run');
    await waitForStatus(routingId, 'canceled');
    expect((await admin.get(`/api/jobs/${job.id}`)).body.status).toBe('canceled');
  });

  it('503 then success: retried with backoff, synced on a later attempt', async () => {
    await sandbox.setFaults('servicetitan', { errorRate: 1, errorStatus: 503 });
    const { routingId } = await referral();
    const failed = await waitForStatus(routingId, 'failed');
    expect(failed.nextRetryAt).toEqual(expect.any(String));
    expect(failed.lastError).toContain('503');
    await sandbox.clearFaults('servicetitan');
    const synced = await waitForStatus(routingId, 'synced');
    expect(synced.attempts).toBeGreaterThanOrEqual(2);
    const attempts = synced.events.filter((e: any) => e.type === 'sync_attempt');
    expect(attempts[0]).toMatchObject({ outcome: 'retryable_error', httpStatus: 503 });
    expect(attempts[attempts.length - 1]).toMatchObject({ outcome: 'success' });
  });

  it('429 with Retry-After: waits as told and does not use up attempts', async () => {
    await sandbox.setFaults('servicetitan', { rateLimitRate: 1, retryAfterSeconds: 1 });
    const { routingId } = await referral();
    const failed = await waitForStatus(routingId, 'failed');
    expect(failed.lastError).toContain('429');
    expect(new Date(failed.nextRetryAt).getTime() - new Date(failed.updatedAt).getTime()).toBeGreaterThanOrEqual(900);
    // Past MAX_SYNC_ATTEMPTS (3) worth of 429s, still not permanently failed.
    await waitFor(
      async () => (await routing(routingId)).events.filter((e: any) => e.type === 'sync_attempt').length >= 4,
      { timeoutMs: 15_000, what: '4 attempts' },
    );
    expect((await routing(routingId)).status).not.toBe('permanently_failed');
    await sandbox.clearFaults('servicetitan');
    await waitForStatus(routingId, 'synced');
  });

  it('400 is permanent at once, with the provider message', async () => {
    await sandbox.setFaults('servicetitan', { errorRate: 1, errorStatus: 400 });
    const { job, routingId } = await referral();
    const failed = await waitForStatus(routingId, 'permanently_failed');
    expect(failed.attempts).toBe(1);
    expect(failed.lastError).toMatch(/400/);
    expect((await admin.get(`/api/jobs/${job.id}`)).body.status).toBe('canceled');
  });

  it('three 500s end permanently_failed; a manual retry recovers it', async () => {
    await sandbox.setFaults('servicetitan', { errorRate: 1, errorStatus: 500 });
    const { job, routingId } = await referral();
    const failed = await waitForStatus(routingId, 'permanently_failed');
    expect(failed.attempts).toBe(3);
    expect(failed.events.filter((e: any) => e.type === 'sync_attempt').map((e: any) => e.httpStatus)).toEqual([
      500, 500, 500,
    ]);
    await sandbox.clearFaults('servicetitan');
    expect((await admin.post(`/api/routings/${routingId}/retry`)).status).toBe(202);
    const synced = await waitForStatus(routingId, 'synced');
    expect(synced.attempts).toBe(1);
    expect((await admin.get(`/api/jobs/${job.id}`)).body.status).toBe('open');
  });

  it.each(['servicetitan', 'housecallpro'] as const)(
    '%s: a timeout after create ends with exactly one record at the sandbox',
    async (provider) => {
      await sandbox.setFaults(provider, { timeoutAfterCreateRate: 1 });
      const { routingId } = await referral({ provider });
      // The retry comes within moments (fast backoff), so wait for the failed attempt's event, not the status.
      const timedOut = await waitFor(
        async () =>
          (await routing(routingId)).events.find(
            (e: any) => e.type === 'sync_attempt' && e.outcome === 'retryable_error',
          ),
        { timeoutMs: 15_000, what: 'a timed-out attempt' },
      );
      expect(timedOut.message).toMatch(/TIMEOUT|timed out/);
      await sandbox.clearFaults(provider);
      const synced = await waitForStatus(routingId, 'synced');
      expect(synced.events.find((e: any) => e.type === 'sync_attempt' && e.outcome === 'success').message).toContain(
        'found existing',
      );
      if (provider === 'servicetitan') {
        expect(
          (await sandbox.serviceTitanRecords()).bookings.filter((b: any) => b.externalId === routingId),
        ).toHaveLength(1);
      } else {
        expect(
          (await sandbox.housecallProRecords()).jobs.filter((j: any) => j.tags.includes(`te-routing-${routingId}`)),
        ).toHaveLength(1);
      }
    },
  );

  it('the sync sweep enqueues pending routings that never reached the queue', async () => {
    const { referrer, technician, targets } = await createNetwork(admin, 1);
    // A job committed while Redis was unreachable: rows only, no queue job.
    const [jobRow] = await t.db.query(
      `INSERT INTO jobs (status, company_id, technician_id, homeowner, address, summary)
       VALUES ('open', $1, $2, '{"firstName":"A","lastName":"B","phone":"+15125550147","email":null}',
               '{"street":"1 Main St","unit":null,"city":"Austin","state":"TX","zip":"78701","country":"US"}', 'orphan') RETURNING id`,
      [referrer.id, technician.id],
    );
    const [routingRow] = await t.db.query(
      `INSERT INTO routings (job_id, company_id, provider_type, status) VALUES ($1, $2, 'servicetitan', 'pending') RETURNING id`,
      [jobRow.id, targets[0].id],
    );
    await new Promise((r) => setTimeout(r, 300));
    expect((await routing(routingRow.id)).status).toBe('pending');
    await admin.post('/api/admin/sweeps/sync/run');
    await waitForStatus(routingRow.id, 'synced');
  });

  it('the retry sweep re-enqueues due failed routings whose delayed job was lost', async () => {
    const { routingId } = await referral();
    await waitForStatus(routingId, 'synced');
    await t.db.query(
      `UPDATE routings SET status = 'failed', next_retry_at = now() - interval '1 second', attempts = 1 WHERE id = $1`,
      [routingId],
    );
    await admin.post('/api/admin/sweeps/retry/run');
    const again = await waitForStatus(routingId, 'synced');
    expect(again.attempts).toBe(2);
    expect((await sandbox.serviceTitanRecords()).bookings.filter((b: any) => b.externalId === routingId)).toHaveLength(
      1,
    );
  });
});
