import { SandboxControl } from '../../src/sandbox/sandbox-control.client';
import { createNetwork, jobBody } from '../factories/network.factory';
import { TestApp, flushTestRedis, startTestApp } from '../helpers/app';
import { ApiClient, apiClient } from '../helpers/http';
import { waitFor } from '../helpers/wait';
import { FAST_SYNC_ENV, TEST_ADMIN_KEY } from '../test-env';

/**
 * Cleanup returns a routing `syncing` for longer than SYNC_JOB_TIMEOUT_MS + 2 x PROVIDER_TIMEOUT_MS to
 * `failed`, and another worker may then claim it. That is only safe if an attempt makes no provider call
 * after its time limit, counted from its claim; otherwise the two attempts could both create a record.
 */
describe('Sync attempt time limit', () => {
  let t: TestApp;
  let admin: ApiClient;
  let sandbox: SandboxControl;

  beforeAll(async () => {
    await flushTestRedis();
    t = await startTestApp({ ...FAST_SYNC_ENV, SYNC_JOB_TIMEOUT_MS: '1000', PROVIDER_TIMEOUT_MS: '2000' }, 'all');
    admin = apiClient(t.url, TEST_ADMIN_KEY);
    sandbox = new SandboxControl(t.sandbox.url);
  });
  afterAll(() => t.close());

  it('starts no provider call past the limit; the retry then syncs exactly one booking', async () => {
    // The token takes 1.1 s: the create (a first attempt needs no lookup) would start past the 1 s limit.
    await sandbox.setFaults('servicetitan', { latencyMs: 1100 });
    const { referrer, technician, targets } = await createNetwork(admin, 1);
    const res = await admin.post(
      '/api/jobs',
      jobBody(referrer.id, technician.id, { targetCompanyIds: [targets[0].id] }),
    );
    expect(res.status).toBe(201);
    const routingId: string = res.body.routings[0].id;

    // The retry comes within moments (fast backoff): wait for the stopped attempt's event, not the status.
    const stopped = await waitFor(
      async () =>
        (await admin.get(`/api/routings/${routingId}`)).body.events.find(
          (e: { type: string; outcome: string }) => e.type === 'sync_attempt' && e.outcome === 'retryable_error',
        ),
      { timeoutMs: 15_000, what: 'the attempt to stop at its time limit' },
    );
    expect(stopped.message).toContain('time limit');
    const bookings = async () =>
      (await sandbox.serviceTitanRecords()).bookings.filter((b) => b.externalId === routingId);
    expect(await bookings()).toHaveLength(0);

    await sandbox.clearFaults('servicetitan');
    await waitFor(async () => (await admin.get(`/api/routings/${routingId}`)).body.status === 'synced', {
      timeoutMs: 15_000,
      what: 'the retry to sync',
    });
    expect(await bookings()).toHaveLength(1);
  });
});
