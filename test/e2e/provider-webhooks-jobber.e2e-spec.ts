import { createHmac, randomUUID } from 'node:crypto';

import { CredentialsCipher } from '../../src/connections/credentials-cipher';
import { providerCatalog, registerProvider } from '../../src/providers/provider-catalog';
import { SandboxControl } from '../../src/sandbox/sandbox-control.client';
import { createCompany, createTechnician, jobBody } from '../factories/network.factory';
import { TestApp, flushTestRedis, startTestApp, truncateAll } from '../helpers/app';
import { ApiClient, apiClient } from '../helpers/http';
import { waitFor } from '../helpers/wait';
import { jobberStandIn } from '../providers/jobber-standin';
import { FAST_SYNC_ENV, TEST_ADMIN_KEY } from '../test-env';

// The service's Jobber webhook part (src/providers/jobber/jobber.webhooks.ts) behind a stand-in strategy, until
// src/providers/jobber/ registers the real provider (then this file connects through its OAuth flow instead).
if (!providerCatalog.find('jobber')) registerProvider(jobberStandIn);

const CLIENT_ID = 'sandbox-jobber-client-id';
const CLIENT_SECRET = 'sandbox-jobber-client-secret';

describe('Inbound provider webhooks - POST /api/webhooks/jobber', () => {
  let t: TestApp;
  let admin: ApiClient;
  let sandbox: SandboxControl;

  beforeAll(async () => {
    await flushTestRedis();
    t = await startTestApp(
      {
        ...FAST_SYNC_ENV,
        JOBBER_CLIENT_SECRET: CLIENT_SECRET,
        RATE_LIMITS: JSON.stringify({ ...JSON.parse(FAST_SYNC_ENV.RATE_LIMITS), jobber: { perMinute: 100000 } }),
      },
      'all',
    );
    await truncateAll(t.db);
    admin = apiClient(t.url, TEST_ADMIN_KEY);
    sandbox = new SandboxControl(t.sandbox.url);
    await sandbox.setJobberWebhook(`${t.url}/api/webhooks/jobber`);
  });
  afterAll(() => t.close());

  /** A Jobber account installed through the sandbox's OAuth, as a company's active connection. */
  async function jobberCompany() {
    const account = await sandbox.createJobberAccount();
    await sandbox.setJobberSettings({ authorize: { approve: true, accountId: account.id } });
    const redirect = 'http://127.0.0.1:9/api/oauth/jobber/callback';
    const authorize = await fetch(
      `${t.sandbox.url}/api/oauth/authorize?${new URLSearchParams({
        response_type: 'code',
        client_id: CLIENT_ID,
        redirect_uri: redirect,
        state: 's',
      })}`,
      { redirect: 'manual' },
    );
    const code = new URL(authorize.headers.get('location')!).searchParams.get('code')!;
    const tokens = (await (
      await fetch(`${t.sandbox.url}/api/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          redirect_uri: redirect,
          client_id: CLIENT_ID,
          client_secret: CLIENT_SECRET,
        }),
      })
    ).json()) as { access_token: string };
    const company = await createCompany(admin, { provider: undefined });
    const [{ id: connectionId }] = await t.db.query(
      `INSERT INTO connections (company_id, provider_type, status, credentials, external_account_id)
       VALUES ($1, 'jobber', 'active', $2, $3) RETURNING id`,
      [company.id, new CredentialsCipher(t.config).encrypt({ accessToken: tokens.access_token }), account.id],
    );
    return { company, accountId: account.id, connectionId: connectionId as string };
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
  const signed = (body: string, secret = CLIENT_SECRET) => ({
    'content-type': 'application/json',
    'x-jobber-hmac-sha256': createHmac('sha256', secret).update(body).digest('base64'),
  });
  const post = async (body: string, headers: Record<string, string>) => {
    const res = await fetch(`${t.url}/api/webhooks/jobber`, { method: 'POST', headers, body });
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: (await res.json()) as any };
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
