import { SandboxControl } from '../../src/sandbox/sandbox-control.client';
import { createNetwork, jobBody } from '../factories/network.factory';
import { TestApp, flushTestRedis, startTestApp, truncateAll } from '../helpers/app';
import { ApiClient, apiClient } from '../helpers/http';
import { waitFor } from '../helpers/wait';
import { FAST_SYNC_ENV, TEST_ADMIN_KEY } from '../test-env';

const LOOKUP_ROUTE = 'GET /crm/v2/tenant/{tenant}/booking-provider/{bookingProvider}/bookings';
const CREATE_ROUTE = 'POST /crm/v2/tenant/{tenant}/booking-provider/{bookingProvider}/bookings';

/**
 * The lookup-before-create runs only where an earlier attempt may have sent a create: never on a routing's first
 * attempt, always on every attempt after one that sent (or began to send) a create, however the attempt budget was
 * reset since. Counted at the sandbox.
 */
describe('Sync: lookup-before-create only after a create may have been sent', () => {
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
  afterEach(() => sandbox.clearFaults('servicetitan'));
  afterAll(() => t.close());

  async function referral() {
    const { referrer, technician, targets } = await createNetwork(admin, 1);
    const res = await admin.post(
      '/api/jobs',
      jobBody(referrer.id, technician.id, { targetCompanyIds: [targets[0].id] }),
    );
    expect(res.status).toBe(201);
    return res.body.routings[0].id as string;
  }
  const routing = async (id: string) => (await admin.get(`/api/routings/${id}`)).body;
  const waitForStatus = (id: string, status: string) =>
    waitFor(
      async () => {
        const r = await routing(id);
        return r.status === status ? r : null;
      },
      { timeoutMs: 15_000, what: `routing ${id} to be ${status}` },
    );
  /** The ServiceTitan booking requests the sandbox saw since the last reset, oldest first. */
  const bookingCalls = async () =>
    (await sandbox.requests({ provider: 'servicetitan' }))
      .map((r) => r.route)
      .filter((route) => route === LOOKUP_ROUTE || route === CREATE_ROUTE);
  const bookingsOf = async (routingId: string) =>
    (await sandbox.serviceTitanRecords()).bookings.filter((b: any) => b.externalId === routingId);

  it('a first attempt makes no lookup: one create, one booking', async () => {
    await sandbox.resetStats();
    const routingId = await referral();
    const synced = await waitForStatus(routingId, 'synced');
    expect(synced.attempts).toBe(1);
    expect(await bookingCalls()).toEqual([CREATE_ROUTE]);
    expect(await bookingsOf(routingId)).toHaveLength(1);
  });

  it('after a create that timed out, the retry looks up first and finds the booking: no duplicate', async () => {
    await sandbox.setFaults('servicetitan', { timeoutAfterCreateRate: 1 });
    await sandbox.resetStats();
    const routingId = await referral();
    await waitFor(
      async () =>
        (await routing(routingId)).events.find(
          (e: any) => e.type === 'sync_attempt' && e.outcome === 'retryable_error',
        ),
      { timeoutMs: 15_000, what: 'a timed-out attempt' },
    );
    await sandbox.clearFaults('servicetitan');
    const synced = await waitForStatus(routingId, 'synced');
    const calls = await bookingCalls();
    // The first attempt: a create and no lookup; every later attempt starts with a lookup.
    expect(calls[0]).toBe(CREATE_ROUTE);
    expect(calls.slice(1).filter((c) => c === LOOKUP_ROUTE).length).toBeGreaterThanOrEqual(1);
    expect(calls[calls.length - 1]).toBe(LOOKUP_ROUTE);
    expect(synced.events.find((e: any) => e.type === 'sync_attempt' && e.outcome === 'success').message).toContain(
      'found existing',
    );
    expect(await bookingsOf(routingId)).toHaveLength(1);
  });

  it('a manual retry of a routing whose creates failed still looks up first (the budget reset does not clear it)', async () => {
    await sandbox.setFaults('servicetitan', { errorRate: 1, errorStatus: 500 });
    const routingId = await referral();
    const failed = await waitForStatus(routingId, 'permanently_failed');
    expect(failed.attempts).toBe(3);
    await sandbox.clearFaults('servicetitan');
    await sandbox.resetStats();
    expect((await admin.post(`/api/routings/${routingId}/retry`)).status).toBe(202);
    const synced = await waitForStatus(routingId, 'synced');
    expect(synced.attempts).toBe(1);
    expect(await bookingCalls()).toEqual([LOOKUP_ROUTE, CREATE_ROUTE]);
    expect(await bookingsOf(routingId)).toHaveLength(1);
  });
});
