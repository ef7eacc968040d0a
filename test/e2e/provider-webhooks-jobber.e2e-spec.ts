import { createHmac, randomUUID } from 'node:crypto';

import { SandboxControl } from '../../src/sandbox/sandbox-control.client';
import { recordResponse } from '../contract/contract-recorder';
import { connectJobber, createCompany, createTechnician, jobBody } from '../factories/network.factory';
import { TestApp, flushTestRedis, startTestApp, truncateAll } from '../helpers/app';
import { ApiClient, apiClient } from '../helpers/http';
import { waitFor } from '../helpers/wait';
import { FAST_SYNC_ENV, SANDBOX_JOBBER_APP, TEST_ADMIN_KEY } from '../test-env';

describe('Inbound provider webhooks - POST /api/webhooks/jobber', () => {
  let t: TestApp;
  let admin: ApiClient;
  let sandbox: SandboxControl;

  beforeAll(async () => {
    await flushTestRedis();
    t = await startTestApp(FAST_SYNC_ENV, 'all');
    await truncateAll(t.db);
    admin = apiClient(t.url, TEST_ADMIN_KEY);
    sandbox = new SandboxControl(t.sandbox.url);
    // Jobber's webhooks are app-level: one URL for every account that installed the app.
    await sandbox.setJobberWebhook(`${t.url}/api/webhooks/jobber`);
  });
  afterAll(() => t.close());

  /** A company connected to a new Jobber account through the OAuth flow. */
  async function jobberCompany() {
    const company = await createCompany(admin, { provider: undefined });
    expect((await connectJobber(admin, t.url, company.id)).status).toBe(200);
    const [connection] = (await admin.get(`/api/companies/${company.id}/connections`)).body.items;
    const [row] = await t.db.query(`SELECT external_account_id FROM connections WHERE id = $1`, [connection.id]);
    return { company, accountId: row.external_account_id as string, connectionId: connection.id as string };
  }

  async function syncedReferral(companyId: string) {
    const referrer = await createCompany(admin, { provider: undefined, trades: ['plumbing'] });
    const technician = await createTechnician(admin, referrer.id);
    const job = (await admin.post('/api/jobs', jobBody(referrer.id, technician.id, { targetCompanyIds: [companyId] })))
      .body;
    const routingId = job.routings[0].id as string;
    const synced = await waitForRouting(routingId, (r) => r.status === 'synced', 'synced');
    return { jobId: job.id as string, routingId, requestId: synced.externalId as string };
  }

  const waitForRouting = (id: string, check: (r: any) => boolean, what: string) =>
    waitFor(
      async () => {
        const r = (await admin.get(`/api/routings/${id}`)).body;
        return check(r) ? r : null;
      },
      { what },
    ) as Promise<any>;
  const signed = (body: string, secret = SANDBOX_JOBBER_APP.clientSecret) => ({
    'content-type': 'application/json',
    'x-jobber-hmac-sha256': createHmac('sha256', secret).update(body).digest('base64'),
  });
  /** Jobber's request, as it sends it; the answer is checked against the contract. */
  const post = async (body: string, headers: Record<string, string>) => {
    const res = await fetch(`${t.url}/api/webhooks/jobber`, { method: 'POST', headers, body });
    const json = (await res.json()) as any;
    recordResponse(t.url, {
      method: 'POST',
      path: '/api/webhooks/jobber',
      status: res.status,
      headers: res.headers,
      body: json,
    });
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: json };
  };
  const event = (topic: string, accountId: string, itemId: string) =>
    JSON.stringify({
      data: { webHookEvent: { topic, appId: 'app', accountId, itemId, occurredAt: new Date().toISOString() } },
    });

  it('REQUEST_UPDATE, then JOB_*/VISIT_* items mapped to their request, bring the routing to completion', async () => {
    const { company } = await jobberCompany();
    const { routingId, requestId, jobId } = await syncedReferral(company.id);
    // Converting sends REQUEST_UPDATE, JOB_CREATE and VISIT_CREATE.
    await sandbox.jobberRequestAction(requestId, 'convert');
    await waitForRouting(routingId, (r) => r.providerStatus === 'scheduled', 'scheduled');
    // Completing sends only VISIT_COMPLETE and JOB_UPDATE: the routing is found through the job's request.
    await sandbox.jobberRequestAction(requestId, 'complete', 45_600);
    const done = await waitForRouting(routingId, (r) => r.status === 'completed', 'completed');
    expect(done).toMatchObject({ providerStatus: 'completed', revenueCents: 45_600 });
    expect((await admin.get(`/api/jobs/${jobId}`)).body.status).toBe('completed');
    const deliveries = (await sandbox.webhookDeliveries({ provider: 'jobber' })).slice(-2);
    expect(deliveries.map((d) => [d.event, d.status]).sort()).toEqual([
      ['JOB_UPDATE', 202],
      ['VISIT_COMPLETE', 202],
    ]);
  });

  it('a request archived without a job cancels the routing', async () => {
    const { company } = await jobberCompany();
    const { routingId, requestId } = await syncedReferral(company.id);
    await sandbox.jobberRequestAction(requestId, 'archive');
    await waitForRouting(routingId, (r) => r.status === 'canceled', 'canceled');
  });

  it('APP_DISCONNECT makes the account’s connection invalid and fails its routings', async () => {
    const { company, accountId, connectionId } = await jobberCompany();
    const { routingId } = await syncedReferral(company.id);
    await sandbox.disconnectJobberAccount(accountId);
    const failed = await waitForRouting(routingId, (r) => r.status === 'permanently_failed', 'permanently failed');
    expect(failed.lastError).toContain('APP_DISCONNECT');
    const [connection] = (await admin.get(`/api/companies/${company.id}/connections`)).body.items;
    expect(connection).toMatchObject({ id: connectionId, status: 'invalid' });
    expect(connection.statusReason).toContain('Jobber reported the app disconnected');
  });

  it('401 for a bad or missing signature, 400 for a signed body that is not JSON', async () => {
    const body = event('REQUEST_UPDATE', 'QWNjb3VudDo5OTk=', 'UmVxdWVzdDo5OTk=');
    for (const headers of [
      { 'content-type': 'application/json' },
      signed(body, 'not-the-secret'),
      { ...signed(body), 'x-jobber-hmac-sha256': 'AAAA' },
    ]) {
      const res = await post(body, headers);
      expect(res).toMatchObject({ status: 401, body: { status: 401, title: 'Unauthorized' } });
      expect(res.contentType).toContain('application/problem+json');
    }
    // The signature covers the exact bytes: the same JSON re-serialized does not verify.
    expect((await post(JSON.stringify(JSON.parse(body), null, 1), signed(body))).status).toBe(401);
    const notJson = 'topic=REQUEST_UPDATE';
    expect(await post(notJson, signed(notJson))).toMatchObject({ status: 400, body: { errors: [{ field: 'body' }] } });
  });

  it('acknowledges accounts, requests and topics it does not know', async () => {
    const { accountId } = await jobberCompany();
    for (const body of [
      event('REQUEST_UPDATE', 'QWNjb3VudDo5OTk5', randomUUID()),
      event('REQUEST_UPDATE', accountId, 'UmVxdWVzdDo5OTk5'),
      event('CLIENT_CREATE', accountId, 'Q2xpZW50OjE='),
    ]) {
      expect(await post(body, signed(body))).toMatchObject({ status: 202, body: { accepted: 0, ignored: 1 } });
    }
  });

  it('a redelivered event is a duplicate', async () => {
    const { company, accountId } = await jobberCompany();
    const { requestId } = await syncedReferral(company.id);
    const body = event('REQUEST_UPDATE', accountId, requestId);
    expect((await post(body, signed(body))).body).toEqual({ accepted: 1, duplicate: 0, ignored: 0 });
    expect((await post(body, signed(body))).body).toEqual({ accepted: 0, duplicate: 1, ignored: 0 });
  });
});
