import { randomUUID } from 'node:crypto';

import { SandboxControl } from '../../src/sandbox/sandbox-control.client';
import { recordResponse } from '../contract/contract-recorder';
import { createNetwork, housecallProCredentials, jobBody, serviceTitanCredentials } from '../factories/network.factory';
import { TestApp, flushTestRedis, startTestApp, truncateAll } from '../helpers/app';
import { ApiClient, apiClient, expectProblem } from '../helpers/http';
import { waitFor } from '../helpers/wait';
import { FAST_SYNC_ENV, TEST_ADMIN_KEY } from '../test-env';

describe('Inbound provider webhooks - /api/webhooks/{provider}/{connectionId}/{token}', () => {
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
  afterEach(() => sandbox.setWebhookOptions({ duplicates: false }));
  afterAll(() => t.close());

  /** A company on the provider, its connection's webhook URL, and one referral to it, synced. */
  async function syncedReferral(provider: 'servicetitan' | 'housecallpro', subscribe = true) {
    const credentials = provider === 'servicetitan' ? serviceTitanCredentials() : housecallProCredentials();
    const { referrer, technician, targets } = await createNetwork(admin, 1, {
      provider: { type: provider, credentials },
    });
    const [connection] = (await admin.get(`/api/companies/${targets[0].id}/connections`)).body.items;
    const webhookUrl = connection.webhookUrl as string;
    expect(webhookUrl).toBe(
      `${t.config.publicBaseUrl}/api/webhooks/${provider}/${connection.id}/${webhookUrl.split('/').pop()}`,
    );
    // The service's public URL is not where the test app listens: the provider gets the test app's address.
    const url = `${t.url}${new URL(webhookUrl).pathname}`;
    if (subscribe) {
      if (provider === 'servicetitan') await sandbox.setServiceTitanWebhook((credentials as any).tenantId, url);
      else await sandbox.setHousecallProWebhook((credentials as any).apiKey, url);
    }
    const job = (
      await admin.post('/api/jobs', jobBody(referrer.id, technician.id, { targetCompanyIds: [targets[0].id] }))
    ).body;
    const routingId = job.routings[0].id as string;
    const synced = await waitForRouting(routingId, (r) => r.status === 'synced');
    return { url, jobId: job.id as string, routingId, externalId: synced.externalId as string, connection };
  }

  const routing = async (id: string) => (await admin.get(`/api/routings/${id}`)).body;
  const waitForRouting = (id: string, check: (r: any) => boolean, what = 'the routing') =>
    waitFor(
      async () => {
        const r = await routing(id);
        return check(r) ? r : null;
      },
      { what },
    ) as Promise<any>;
  /** A provider's request, as it sends it (raw bytes, no API key); its answer is checked against the contract. */
  const post = async (url: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const json = (await res.json()) as any;
    const { pathname } = new URL(url);
    recordResponse(t.url, { method: 'POST', path: pathname, status: res.status, headers: res.headers, body: json });
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: json, headers: res.headers };
  };
  const statusReads = async (provider: 'servicetitan' | 'housecallpro') =>
    (await sandbox.stats()).providers[provider].requests;
  const metric = async (provider: string, outcome: string) => {
    const text = await (await fetch(`${t.url}/metrics`)).text();
    const line = new RegExp(
      `^webhook_events_received_total\\{provider="${provider}",outcome="${outcome}"\\} (\\d+)`,
      'm',
    );
    return Number(line.exec(text)?.[1] ?? 0);
  };

  it('Housecall Pro: the sandbox webhook brings completion and revenue, with no sweep', async () => {
    const { routingId, externalId, jobId } = await syncedReferral('housecallpro');
    await sandbox.scheduleHcpJob(externalId);
    await waitForRouting(routingId, (r) => r.providerStatus === 'scheduled', 'scheduled');
    await sandbox.completeHcpJob(externalId, 31_500);
    const done = await waitForRouting(routingId, (r) => r.status === 'completed', 'completed');
    expect(done).toMatchObject({ providerStatus: 'completed', revenueCents: 31_500, completedAt: expect.any(String) });
    expect((await admin.get(`/api/jobs/${jobId}`)).body).toMatchObject({ status: 'completed', revenueCents: 31_500 });
    // Read from the provider by the polling code (a `poll` event), never taken from the payload.
    expect(done.events.filter((e: any) => e.type === 'poll').map((e: any) => e.outcome)).toEqual([
      'scheduled',
      'completed',
    ]);
    const deliveries = await sandbox.webhookDeliveries({ provider: 'housecallpro' });
    expect(deliveries.slice(-2).map((d) => [d.event, d.status])).toEqual([
      ['job.scheduled', 202],
      ['job.completed', 202],
    ]);
    expect(await metric('housecallpro', 'accepted')).toBeGreaterThanOrEqual(2);
  });

  it('ServiceTitan: the sandbox webhooks bring each move and the invoice revenue, with no sweep', async () => {
    const { routingId, externalId } = await syncedReferral('servicetitan');
    await sandbox.scheduleBooking(externalId);
    await waitForRouting(routingId, (r) => r.providerStatus === 'scheduled', 'scheduled');
    await sandbox.startBooking(externalId);
    await waitForRouting(routingId, (r) => r.providerStatus === 'in_progress', 'in progress');
    await sandbox.completeBooking(externalId, 98_765);
    const done = await waitForRouting(routingId, (r) => r.status === 'completed', 'completed');
    expect(done).toMatchObject({ providerStatusRaw: 'Completed', revenueCents: 98_765 });
  });

  it('ServiceTitan: a webhook naming only the job finds the routing through the job’s booking', async () => {
    const { url, routingId, externalId } = await syncedReferral('servicetitan', false);
    const { job } = await sandbox.completeBooking(externalId, 5000);
    const jobId = job!.id;
    const res = await post(url, {
      eventId: randomUUID(),
      eventType: 'Job.Completed',
      tenantId: 1,
      createdOn: new Date().toISOString(),
      data: { id: jobId, jobId },
    });
    expect(res).toMatchObject({ status: 202, body: { accepted: 1, duplicate: 0, ignored: 0 } });
    await waitForRouting(routingId, (r) => r.status === 'completed' && r.revenueCents === 5000, 'completed');
  });

  it('Housecall Pro: a canceled job cancels the routing and the job', async () => {
    const { routingId, externalId, jobId } = await syncedReferral('housecallpro');
    await sandbox.cancelHcpJob(externalId);
    await waitForRouting(routingId, (r) => r.status === 'canceled', 'canceled');
    expect((await admin.get(`/api/jobs/${jobId}`)).body.status).toBe('canceled');
  });

  it('answers 401 problem+json to a bad token, another connection’s token or a URL of no connection', async () => {
    const a = await syncedReferral('housecallpro', false);
    const b = await syncedReferral('servicetitan', false);
    const body = { event: 'job.completed', company_id: 'c', job: { id: a.externalId } };
    const [, , , provider, connectionId, token] = new URL(a.url).pathname.split('/');
    const otherToken = new URL(b.url).pathname.split('/').pop();
    const before = await statusReads('housecallpro');
    for (const path of [
      `/api/webhooks/${provider}/${connectionId}/${token}x`,
      `/api/webhooks/${provider}/${connectionId}/${otherToken}`,
      `/api/webhooks/${provider}/${randomUUID()}/${token}`,
      `/api/webhooks/${provider}/not-a-uuid/${token}`,
      // The right token on the other provider's path.
      `/api/webhooks/servicetitan/${connectionId}/${token}`,
    ]) {
      const res = await post(`${t.url}${path}`, body);
      expect({ path, status: res.status }).toEqual({ path, status: 401 });
      expect(res.contentType).toContain('application/problem+json');
      expect(res.body).toMatchObject({ status: 401, title: 'Unauthorized', requestId: expect.any(String) });
    }
    expect(await statusReads('housecallpro')).toBe(before);
    expect(await metric('housecallpro', 'unauthorized')).toBeGreaterThanOrEqual(4);
    expect((await routing(a.routingId)).status).toBe('synced');
  });

  it('answers 400 problem+json to a body that is not JSON, and 413 to one too large', async () => {
    const { url } = await syncedReferral('housecallpro', false);
    const res = await post(url, '{"event": "job.completed", ', { 'content-type': 'text/plain' });
    expect(res).toMatchObject({
      status: 400,
      body: { status: 400, errors: [{ field: 'body', message: 'must be JSON' }] },
    });
    expect(res.contentType).toContain('application/problem+json');
    expect((await post(url, '')).status).toBe(400);
    const huge = JSON.stringify({ event: 'job.completed', job: { id: 'x' }, pad: 'x'.repeat(300_000) });
    expect((await post(url, huge)).status).toBe(413);
  });

  it('acknowledges unknown records and unknown events without reading any status', async () => {
    const { url } = await syncedReferral('housecallpro', false);
    const before = await statusReads('housecallpro');
    const unknown = await post(url, { event: 'job.completed', company_id: 'c', job: { id: 'job_nobody_knows' } });
    expect(unknown).toMatchObject({ status: 202, body: { accepted: 0, duplicate: 0, ignored: 1 } });
    const other = await post(url, { event: 'customer.created', customer: { id: 'cus_1' } });
    expect(other).toMatchObject({ status: 202, body: { ignored: 1 } });
    expect((await post(url, [1, 2, 3])).body).toEqual({ accepted: 0, duplicate: 0, ignored: 1 });
    await new Promise((r) => setTimeout(r, 300));
    expect(await statusReads('housecallpro')).toBe(before);
  });

  it('a duplicate causes no second status read; another change of the same job does', async () => {
    const { url, routingId, externalId } = await syncedReferral('housecallpro', false);
    await sandbox.scheduleHcpJob(externalId);
    const scheduled = { event: 'job.scheduled', company_id: 'c', job: { id: externalId, updated_at: 'v1' } };
    let before = await statusReads('housecallpro');
    expect((await post(url, scheduled)).body).toEqual({ accepted: 1, duplicate: 0, ignored: 0 });
    await waitForRouting(routingId, (r) => r.providerStatus === 'scheduled', 'scheduled');
    await new Promise((r) => setTimeout(r, 300));
    const oneRead = (await statusReads('housecallpro')) - before;
    expect(oneRead).toBeGreaterThanOrEqual(1);
    before = await statusReads('housecallpro');
    expect((await post(url, scheduled)).body).toEqual({ accepted: 0, duplicate: 1, ignored: 0 });
    await new Promise((r) => setTimeout(r, 300));
    expect(await statusReads('housecallpro')).toBe(before);

    await sandbox.completeHcpJob(externalId, 700);
    const event = { event: 'job.completed', company_id: 'c', job: { id: externalId, updated_at: 'v2' } };
    before = await statusReads('housecallpro');
    expect((await post(url, event)).body).toEqual({ accepted: 1, duplicate: 0, ignored: 0 });
    expect((await post(url, event)).body).toEqual({ accepted: 0, duplicate: 1, ignored: 0 });
    await waitForRouting(routingId, (r) => r.status === 'completed', 'completed');
    await new Promise((r) => setTimeout(r, 300));
    const reads = (await statusReads('housecallpro')) - before;
    // One status read: the job by id (plus the invoice list of a completed job when the provider needs it).
    expect(reads).toBeGreaterThanOrEqual(1);
    // Now the routing is completed: any further event about its job is acknowledged and left alone.
    expect((await post(url, event)).body).toEqual({ accepted: 0, duplicate: 0, ignored: 1 });
    await new Promise((r) => setTimeout(r, 300));
    expect((await statusReads('housecallpro')) - before).toBe(reads);
  });

  it('the sandbox delivering every webhook twice still completes the routing, the copies counted as duplicates', async () => {
    await sandbox.setWebhookOptions({ duplicates: true });
    const { routingId, externalId } = await syncedReferral('servicetitan');
    const before = await metric('servicetitan', 'duplicate');
    await sandbox.completeBooking(externalId, 1234);
    await waitForRouting(routingId, (r) => r.status === 'completed', 'completed');
    await waitFor(async () => (await metric('servicetitan', 'duplicate')) > before, { what: 'the duplicate' });
    const statuses = (await sandbox.webhookDeliveries({ provider: 'servicetitan' })).slice(-2).map((d) => d.status);
    expect(statuses).toEqual([202, 202]);
  });

  it('has no receiver for an unknown provider, or an app-level URL for a per-connection provider', async () => {
    const unknown = await post(`${t.url}/api/webhooks/nosuchprovider`, {});
    expect(unknown).toMatchObject({ status: 404, contentType: expect.stringContaining('application/problem+json') });
    expect((await post(`${t.url}/api/webhooks/housecallpro`, {})).status).toBe(404);
    expect((await post(`${t.url}/api/webhooks/nosuch/${randomUUID()}/token`, {})).status).toBe(404);
  });

  it('leaves JSON parsing of every other route as it was', async () => {
    const res = await admin.call('POST', '/api/companies', {
      rawBody: '{"name": ',
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(res, 400);
    const ok = await admin.post('/api/companies', { name: 'Parsed as JSON' });
    expect(ok).toMatchObject({ status: 201, body: { name: 'Parsed as JSON' } });
  });
});
