import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, decodeId } from './jobber/store';
import { startSandbox, type RunningSandbox } from './sandbox';
import { SandboxControl } from './sandbox-control.client';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  body: any;
}

/** A real HTTP receiver; answers `status` (or never, for `hang`). */
class Receiver {
  readonly received: Received[] = [];
  status = 200;
  hang = false;
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        this.received.push({ path: req.url ?? '', headers: req.headers, raw, body: JSON.parse(raw) });
        if (this.hang) return;
        res.writeHead(this.status).end();
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  async waitFor(count: number): Promise<Received[]> {
    for (let i = 0; i < 200 && this.received.length < count; i++) await new Promise((r) => setTimeout(r, 10));
    return this.received;
  }
}

describe('sandbox: provider webhooks', () => {
  let sandbox: RunningSandbox;
  let control: SandboxControl;
  let receiver: Receiver;

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 });
    control = new SandboxControl(sandbox.url);
  });
  afterAll(() => sandbox.close());
  beforeEach(async () => {
    await control.reset();
    receiver = new Receiver();
    await receiver.start();
  });
  afterEach(() => receiver.stop());

  async function jobberConnect(): Promise<{ token: string; accountId: string }> {
    const redirect = 'http://127.0.0.1:9/cb';
    const q = new URLSearchParams({ response_type: 'code', client_id: DEFAULT_CLIENT_ID, redirect_uri: redirect });
    const location = (await fetch(`${sandbox.url}/api/oauth/authorize?${q}`, { redirect: 'manual' })).headers.get(
      'location',
    ) as string;
    const res = await fetch(`${sandbox.url}/api/oauth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: new URL(location).searchParams.get('code') as string,
        redirect_uri: redirect,
        client_id: DEFAULT_CLIENT_ID,
        client_secret: DEFAULT_CLIENT_SECRET,
      }),
    });
    const token = ((await res.json()) as { access_token: string }).access_token;
    const accountId = (JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { account_id: string })
      .account_id;
    return { token, accountId };
  }

  async function jobberRequest(token: string): Promise<string> {
    const gql = async (query: string, variables?: unknown) =>
      (
        (await (
          await fetch(`${sandbox.url}/api/graphql`, {
            method: 'POST',
            headers: {
              Authorization: `Bearer ${token}`,
              'X-JOBBER-GRAPHQL-VERSION': '2022-03-10',
              'Content-Type': 'application/json',
            },
            body: JSON.stringify({ query, variables }),
          })
        ).json()) as { data: any }
      ).data;
    const client = await gql('mutation { clientCreate(input: { firstName: "Jo" }) { client { id } } }');
    const form = await gql('{ requestSettings { forms(first: 1) { nodes { id } } } }');
    const created = await gql(
      'mutation ($input: RequestCreateInput!) { requestCreate(input: $input) { request { id } } }',
      {
        input: {
          clientId: client.clientCreate.client.id,
          customFormInput: { formId: form.requestSettings.forms.nodes[0].id },
        },
      },
    );
    return created.requestCreate.request.id as string;
  }

  it('Jobber: app-level, HMAC-signed webhooks for each change, and APP_DISCONNECT', async () => {
    await control.setJobberWebhook(`${receiver.url}/jobber`);
    const { token, accountId } = await jobberConnect();
    const requestId = await jobberRequest(token);
    expect(receiver.received).toHaveLength(0); // creates through the API are not announced, only moves

    const moved = await control.jobberRequestAction(requestId, 'complete', 25_000);
    const topics = ['REQUEST_UPDATE', 'JOB_CREATE', 'VISIT_CREATE', 'VISIT_COMPLETE', 'JOB_UPDATE'];
    const got = await receiver.waitFor(topics.length);
    expect(got.map((r) => r.body.data.webHookEvent.topic).sort()).toEqual([...topics].sort());
    const { appId } = (await control.jobberRecords()).apps[0];
    for (const r of got) {
      expect(r.path).toBe('/jobber');
      const expected = createHmac('sha256', DEFAULT_CLIENT_SECRET).update(r.raw).digest('base64');
      expect(r.headers['x-jobber-hmac-sha256']).toBe(expected);
      expect(r.body.data.webHookEvent).toEqual({
        topic: expect.any(String),
        appId,
        accountId,
        itemId: expect.any(String),
        occurredAt: expect.any(String),
      });
    }
    const item = (topic: string) => got.find((r) => r.body.data.webHookEvent.topic === topic)?.body.data.webHookEvent;
    expect(item('REQUEST_UPDATE').itemId).toBe(requestId);
    expect(item('JOB_UPDATE').itemId).toBe(moved.job?.id);
    expect(decodeId('Visit', item('VISIT_COMPLETE').itemId)).toEqual(expect.any(Number));

    await control.disconnectJobberAccount(accountId);
    const all = await receiver.waitFor(topics.length + 1);
    expect(all.at(-1)?.body.data.webHookEvent).toMatchObject({ topic: 'APP_DISCONNECT', accountId, itemId: accountId });
    // The app is no longer installed: later changes are not sent to it.
    await control.jobberRequestAction(requestId, 'archive');
    await new Promise((r) => setTimeout(r, 100));
    expect(receiver.received).toHaveLength(topics.length + 1);
  });

  it('Housecall Pro: per-company webhooks with the job object', async () => {
    const { companyId } = await control.setHousecallProWebhook('hcp-key-1', `${receiver.url}/hcp/conn-1/tok`);
    const call = async (apiKey: string, path: string, body: unknown) =>
      (await (
        await fetch(`${sandbox.url}${path}`, {
          method: 'POST',
          headers: { Authorization: `Token ${apiKey}`, 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        })
      ).json()) as any;
    const makeJob = async (apiKey: string) => {
      const customer = await call(apiKey, '/customers', {
        first_name: 'Jo',
        addresses: [{ street: '1 A St', city: 'X', state: 'TX', zip: '1', country: 'US' }],
      });
      return (await call(apiKey, '/jobs', { customer_id: customer.id, address_id: customer.addresses[0].id }))
        .id as string;
    };
    const jobId = await makeJob('hcp-key-1');
    const silentJobId = await makeJob('hcp-key-2'); // no URL for this company

    await control.scheduleHcpJob(jobId);
    await control.completeHcpJob(jobId, 45_000);
    await control.completeHcpJob(silentJobId, 100);
    const got = await receiver.waitFor(2);
    await new Promise((r) => setTimeout(r, 100));
    expect(receiver.received).toHaveLength(2);
    expect(got.map((r) => r.body.event).sort()).toEqual(['job.completed', 'job.scheduled']);
    const completed = got.find((r) => r.body.event === 'job.completed') as Received;
    expect(completed.path).toBe('/hcp/conn-1/tok');
    expect(completed.body).toMatchObject({
      company_id: companyId,
      job: { id: jobId, work_status: 'complete unrated', total_amount: 45_000 },
    });
  });

  it('ServiceTitan: per-tenant webhooks naming the booking and the job', async () => {
    await control.setServiceTitanWebhook(5, `${receiver.url}/st/conn/tok`);
    const token = (
      (await (
        await fetch(`${sandbox.url}/connect/token`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=client_credentials&client_id=c&client_secret=s',
        })
      ).json()) as { access_token: string }
    ).access_token;
    const book = async (tenant: number) =>
      (
        (await (
          await fetch(`${sandbox.url}/crm/v2/tenant/${tenant}/booking-provider/9/bookings`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${token}`, 'ST-App-Key': 'k', 'Content-Type': 'application/json' },
            body: JSON.stringify({
              source: 'TE',
              name: 'Jo',
              summary: 's',
              isFirstTimeClient: true,
              externalId: `r-${tenant}`,
              contacts: [{ type: 'Email', value: 'jo@example.com' }],
            }),
          })
        ).json()) as { id: number }
      ).id;
    const bookingId = await book(5);
    await control.completeBooking(await book(6), 100); // tenant 6 has no URL
    const { job } = await control.completeBooking(bookingId, 12_345);
    const [got] = await receiver.waitFor(1);
    await new Promise((r) => setTimeout(r, 100));
    expect(receiver.received).toHaveLength(1);
    expect(got.body).toEqual({
      eventId: expect.any(String),
      eventType: 'Job.Completed',
      tenantId: 5,
      createdOn: expect.any(String),
      data: { id: job?.id, jobId: job?.id, bookingId },
    });
  });

  it('logs every delivery with its status; duplicates on demand; errors and timeouts recorded', async () => {
    await control.setWebhookOptions({ duplicates: true, timeoutMs: 200 });
    await control.setHousecallProWebhook('k', `${receiver.url}/a`);
    const { job } = await createHcpJob('k');
    receiver.status = 500;
    await control.scheduleHcpJob(job);
    const twice = await receiver.waitFor(2);
    expect(twice.map((r) => r.raw)).toEqual([twice[0].raw, twice[0].raw]);
    await waitForDeliveries(2);
    expect((await control.webhookDeliveries({ provider: 'housecallpro' })).map((d) => [d.attempt, d.status])).toEqual([
      [1, 500],
      [2, 500],
    ]);

    await control.setWebhookOptions({ duplicates: false });
    receiver.hang = true;
    await control.startHcpJob(job);
    const closed = await closedPortUrl();
    await control.setHousecallProWebhook('k', closed);
    await control.completeHcpJob(job, 1);
    const deliveries = await waitForDeliveries(4);
    expect(deliveries.slice(2).map((d) => [d.event, d.status])).toEqual([
      ['job.started', 'error'],
      ['job.completed', 'error'],
    ]);
    expect(deliveries[2].error).toMatch(/200 ms/);
    expect(deliveries[3]).toMatchObject({
      url: closed,
      error: expect.stringMatching(/ECONNREFUSED/),
    });
  });

  it('auto-lifecycle moves send webhooks too', async () => {
    await control.setOptions({ autoLifecycle: { completeAfterMs: 150 } });
    await control.setHousecallProWebhook('k', `${receiver.url}/a`);
    await createHcpJob('k');
    const got = await receiver.waitFor(2);
    expect(got[0].body.event).toBe('job.scheduled');
    expect(['job.started', 'job.canceled']).toContain(got[1].body.event);
  });

  async function closedPortUrl(): Promise<string> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    return `http://127.0.0.1:${port}/closed`;
  }

  async function createHcpJob(apiKey: string): Promise<{ job: string }> {
    const post = async (path: string, body: unknown) =>
      (await (
        await fetch(`${sandbox.url}${path}`, {
          method: 'POST',
          headers: { Authorization: `Token ${apiKey}`, 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        })
      ).json()) as any;
    const customer = await post('/customers', {
      first_name: 'Jo',
      addresses: [{ street: '1 A St', city: 'X', state: 'TX', zip: '1', country: 'US' }],
    });
    return { job: (await post('/jobs', { customer_id: customer.id, address_id: customer.addresses[0].id })).id };
  }

  async function waitForDeliveries(count: number) {
    for (let i = 0; i < 200; i++) {
      const deliveries = await control.webhookDeliveries();
      if (deliveries.length >= count && deliveries.every((d) => d.status !== 'pending')) return deliveries;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('deliveries did not settle');
  }
});
