import { apiKeyId } from './store';
import { startSandbox, type RunningSandbox } from '../sandbox';
import { SandboxControl, type HcpCustomerResponse, type HcpJobResponse } from '../sandbox-control.client';

describe('sandbox: Housecall Pro', () => {
  let sandbox: RunningSandbox;
  let control: SandboxControl;

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 });
    control = new SandboxControl(sandbox.url);
  });
  afterAll(() => sandbox.close());
  beforeEach(() => control.reset());

  const auth = (apiKey = 'key-a') => ({ Authorization: `Token ${apiKey}`, 'Content-Type': 'application/json' });

  async function call(
    method: string,
    path: string,
    body?: unknown,
    apiKey = 'key-a',
  ): Promise<{ status: number; body: any }> {
    const res = await fetch(`${sandbox.url}${path}`, {
      method,
      headers: auth(apiKey),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  }

  async function customerWithAddress(apiKey = 'key-a'): Promise<HcpCustomerResponse> {
    const res = await call(
      'POST',
      '/customers',
      {
        first_name: 'Jane',
        last_name: 'Homeowner',
        email: 'jane@example.com',
        mobile_number: '5125550100',
        addresses: [{ street: '1 Main St', city: 'Austin', state: 'TX', zip: '78701', country: 'US' }],
      },
      apiKey,
    );
    expect(res.status).toBe(201);
    return res.body as HcpCustomerResponse;
  }

  async function job(
    customer: HcpCustomerResponse,
    extra: Record<string, unknown> = {},
    apiKey = 'key-a',
  ): Promise<HcpJobResponse> {
    const res = await call(
      'POST',
      '/jobs',
      { customer_id: customer.id, address_id: customer.addresses[0].id, ...extra },
      apiKey,
    );
    expect(res.status).toBe(201);
    return res.body as HcpJobResponse;
  }

  it('answers 401 {"message":"Unauthorized"} identically for Bearer, missing and unknown keys', async () => {
    await control.setOptions({ autoRegister: false });
    await control.registerHousecallProCompany({ apiKey: 'known' });
    const attempts: Record<string, string>[] = [
      { Authorization: 'Bearer known' },
      {},
      { Authorization: 'Token unknown' },
    ];
    for (const headers of attempts) {
      const res = await fetch(`${sandbox.url}/jobs`, { headers });
      expect(res.status).toBe(401);
      expect(await res.text()).toBe('{"message":"Unauthorized"}');
    }
    expect((await fetch(`${sandbox.url}/jobs`, { headers: { Authorization: 'Token known' } })).status).toBe(200);
  });

  it('creates customers with prefixed ids and finds them by q (phone in E.164, email, address)', async () => {
    const customer = await customerWithAddress();
    expect(customer.id).toMatch(/^cus_/);
    expect(customer.addresses[0]).toMatchObject({
      id: expect.stringMatching(/^adr_/),
      street: '1 Main St',
      zip: '78701',
    });
    await call('POST', '/customers', { first_name: 'Other', mobile_number: '2065550199' });

    for (const q of ['+15125550100', '512-555-0100', 'jane@example', 'Main St', 'Homeowner']) {
      const res = await call('GET', `/customers?q=${encodeURIComponent(q)}`);
      expect(res.status).toBe(200);
      expect(res.body.customers.map((c: { id: string }) => c.id)).toEqual([customer.id]);
    }
    expect((await call('GET', '/customers?q=nobody')).body.total_items).toBe(0);
    // Each api key is its own company.
    expect((await call('GET', '/customers', undefined, 'key-b')).body.total_items).toBe(0);
  });

  it('validates addresses and jobs with the documented 422 shapes', async () => {
    const customer = await customerWithAddress();
    const badAddress = await call('POST', `/customers/${customer.id}/addresses`, {
      street: '2 Side St',
      city: 'Austin',
    });
    expect(badAddress.status).toBe(422);
    expect(badAddress.body).toEqual({
      errors: { state: ['is missing'], zip: ['is missing'], country: ['is missing'] },
    });
    const added = await call('POST', `/customers/${customer.id}/addresses`, {
      street: '2 Side St',
      city: 'Austin',
      state: 'TX',
      zip: '78702',
      country: 'US',
    });
    expect(added.status).toBe(200);
    expect(added.body.id).toMatch(/^adr_/);

    const missing = await call('POST', '/jobs', {});
    expect(missing.status).toBe(422);
    expect(missing.body).toEqual({ errors: { customer_id: ['is missing'], address_id: ['is missing'] } });
    const unknown = await call('POST', '/jobs', { customer_id: 'cus_nope', address_id: added.body.id });
    expect(unknown.status).toBe(422);
    expect(typeof unknown.body.error.message).toBe('string');
    expect((await call('GET', '/jobs/job_nope')).body).toEqual({ error: { message: 'Job not found' } });
  });

  it('creates jobs carrying tags and lead source, recorded for the owning api key', async () => {
    const customer = await customerWithAddress();
    const created = await job(customer, { tags: ['te-routing-1'], lead_source: 'TradeEngage', notes: 'Referral' });
    expect(created).toMatchObject({
      id: expect.stringMatching(/^job_/),
      invoice_number: expect.any(String),
      work_status: 'needs scheduling',
      tags: ['te-routing-1'],
      lead_source: 'TradeEngage',
      total_amount: 0,
      outstanding_balance: 0,
      work_timestamps: { on_my_way_at: null, started_at: null, completed_at: null },
    });
    expect(created.customer.id).toBe(customer.id);
    expect(created.address.id).toBe(customer.addresses[0].id);

    const records = await control.housecallProRecords();
    expect(records.jobs).toHaveLength(1);
    expect(records.jobs[0]).toMatchObject({
      keyId: apiKeyId('key-a'),
      customer_id: customer.id,
      tags: ['te-routing-1'],
      lead_source: 'TradeEngage',
    });
    expect((await call('GET', '/tags')).body.tags.map((t: { name: string }) => t.name)).toEqual(['te-routing-1']);
  });

  it('pages job lists with total_pages and filters by customer and work_status[]', async () => {
    const customer = await customerWithAddress();
    const other = await customerWithAddress();
    const jobs: HcpJobResponse[] = [];
    for (let i = 0; i < 12; i++) jobs.push(await job(customer));
    await job(other);

    const page1 = await call('GET', `/jobs?customer_id=${customer.id}`);
    expect(page1.body).toMatchObject({ page: 1, page_size: 10, total_pages: 2, total_items: 12 });
    expect(page1.body.jobs).toHaveLength(10);
    const page2 = await call('GET', `/jobs?customer_id=${customer.id}&page=2&sort_by=created_at&sort_direction=asc`);
    expect(page2.body.jobs.map((j: { id: string }) => j.id)).toEqual([jobs[10].id, jobs[11].id]);
    expect((await call('GET', '/jobs?page_size=5')).body).toMatchObject({ total_pages: 3, total_items: 13 });

    await control.startHcpJob(jobs[0].id);
    const inProgress = await call('GET', '/jobs?work_status[]=in_progress');
    expect(inProgress.body.jobs.map((j: { id: string }) => j.id)).toEqual([jobs[0].id]);
  });

  it('moves a job to complete unrated with total_amount and an invoice in cents', async () => {
    const customer = await customerWithAddress();
    const created = await job(customer);
    expect((await control.scheduleHcpJob(created.id)).job.work_status).toBe('scheduled');
    expect((await control.startHcpJob(created.id)).job.work_timestamps.started_at).not.toBeNull();
    await control.completeHcpJob(created.id, 45_000);

    const fetched = (await call('GET', `/jobs/${created.id}`)).body as HcpJobResponse;
    expect(fetched).toMatchObject({ work_status: 'complete unrated', total_amount: 45_000, subtotal: 45_000 });
    expect(Number.isNaN(Date.parse(fetched.work_timestamps.completed_at ?? ''))).toBe(false);
    const invoices = await call('GET', `/jobs/${created.id}/invoices`);
    expect(invoices.body.invoices).toHaveLength(1);
    expect(invoices.body.invoices[0]).toMatchObject({
      amount: 45_000,
      due_amount: 45_000,
      invoice_number: created.invoice_number,
    });

    const canceled = await job(customer);
    expect((await control.cancelHcpJob(canceled.id)).job.work_status).toBe('pro canceled');
    await expect(control.completeHcpJob(canceled.id)).rejects.toMatchObject({ status: 409 });
  });
});
