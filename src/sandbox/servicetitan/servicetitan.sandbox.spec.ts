import { startSandbox, type RunningSandbox } from '../sandbox';
import { SandboxControl } from '../sandbox-control.client';

const TENANT = '1001';
const BP = '77';

describe('sandbox: ServiceTitan', () => {
  let sandbox: RunningSandbox;
  let control: SandboxControl;

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 });
    control = new SandboxControl(sandbox.url);
  });
  afterAll(() => sandbox.close());
  beforeEach(() => control.reset());

  async function token(clientId = 'client-a', clientSecret = 'secret-a'): Promise<Response> {
    return fetch(`${sandbox.url}/connect/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
    });
  }

  async function headers(clientId?: string, clientSecret?: string): Promise<Record<string, string>> {
    const res = await token(clientId, clientSecret);
    const body = (await res.json()) as { access_token: string };
    return {
      Authorization: `Bearer ${body.access_token}`,
      'ST-App-Key': 'ak1.test-app',
      'Content-Type': 'application/json',
    };
  }

  const bookingsUrl = (tenant = TENANT, bp = BP) =>
    `${sandbox.url}/crm/v2/tenant/${tenant}/booking-provider/${bp}/bookings`;

  function bookingBody(externalId: string) {
    return {
      source: 'TradeEngage',
      name: 'Jane Homeowner',
      summary: 'Water heater leaking',
      isFirstTimeClient: true,
      externalId,
      address: { street: '1 Main St', city: 'Austin', state: 'TX', zip: '78701', country: 'USA' },
      contacts: [{ type: 'MobilePhone', value: '+15125550100' }],
    };
  }

  async function createBooking(
    h: Record<string, string>,
    externalId: string,
  ): Promise<{ id: number; status: string; jobId: number | null }> {
    const res = await fetch(bookingsUrl(), {
      method: 'POST',
      headers: h,
      body: JSON.stringify(bookingBody(externalId)),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as { id: number; status: string; jobId: number | null };
  }

  it('issues client-credentials tokens that really expire', async () => {
    await control.setOptions({ tokenTtlSeconds: 1 });
    const res = await token();
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toEqual({
      access_token: expect.any(String),
      expires_in: 1,
      token_type: 'Bearer',
      scope: expect.any(String),
    });

    const h = { Authorization: `Bearer ${body.access_token as string}`, 'ST-App-Key': 'app' };
    expect((await fetch(bookingsUrl(), { headers: h })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100));
    const expired = await fetch(bookingsUrl(), { headers: h });
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toContain('invalid_token');

    const stats = await control.stats();
    expect(stats.providers.servicetitan.tokenRequests).toBe(1);
  });

  it('rejects a second secret for an auto-registered client, and unknown clients when autoRegister is off', async () => {
    expect((await token('client-x', 'one')).status).toBe(200);
    const wrong = await token('client-x', 'two');
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toEqual({ error: 'invalid_client' });

    await control.setOptions({ autoRegister: false });
    expect((await token('client-y', 'whatever')).status).toBe(400);
    await control.registerServiceTitanTenant({
      tenantId: TENANT,
      clientId: 'client-y',
      clientSecret: 'real',
      bookingProviderId: BP,
    });
    expect((await token('client-y', 'real')).status).toBe(200);
  });

  it('limits a registered client to its tenant and booking provider', async () => {
    await control.registerServiceTitanTenant({
      tenantId: TENANT,
      clientId: 'reg',
      clientSecret: 's',
      bookingProviderId: BP,
    });
    const h = await headers('reg', 's');
    expect((await fetch(bookingsUrl(), { headers: h })).status).toBe(200);
    expect((await fetch(bookingsUrl('2002'), { headers: h })).status).toBe(401);
    const otherBp = await fetch(bookingsUrl(TENANT, '999'), { headers: h });
    expect(otherBp.status).toBe(404);
    expect(await otherBp.json()).toMatchObject({ status: 404, title: 'Not Found' });
  });

  it('requires Bearer token and ST-App-Key on API calls', async () => {
    const h = await headers();
    const noKey = await fetch(bookingsUrl(), { headers: { Authorization: h.Authorization } });
    expect(noKey.status).toBe(401);
    expect(((await noKey.json()) as { detail: string }).detail).toContain('ST-App-Key');
    expect((await fetch(bookingsUrl(), { headers: { 'ST-App-Key': 'app' } })).status).toBe(401);
    expect((await fetch(bookingsUrl(), { headers: { ...h, Authorization: 'Bearer not-a-token' } })).status).toBe(401);

    await createBooking(h, 'ext-appkey');
    const records = await control.serviceTitanRecords();
    expect(records.bookings[0]).toMatchObject({ appKey: 'ak1.test-app', tenantId: TENANT, externalId: 'ext-appkey' });
  });

  it('answers 400 ApiErrorResponse naming every missing required field', async () => {
    const h = await headers();
    const res = await fetch(bookingsUrl(), {
      method: 'POST',
      headers: h,
      body: JSON.stringify({ name: 'Only a name' }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 400, title: 'One or more validation errors occurred.', data: {} });
    expect(typeof body.type).toBe('string');
    expect(typeof body.traceId).toBe('string');
    expect(Object.keys(body.errors as object).sort()).toEqual(['ExternalId', 'IsFirstTimeClient', 'Source', 'Summary']);

    const badAddress = { ...bookingBody('x'), address: { street: '1 Main St', city: 'Austin' } };
    const res2 = await fetch(bookingsUrl(), { method: 'POST', headers: h, body: JSON.stringify(badAddress) });
    expect(res2.status).toBe(400);
    expect(Object.keys(((await res2.json()) as { errors: object }).errors).sort()).toEqual([
      'Address.Country',
      'Address.State',
      'Address.Zip',
    ]);
    expect((await control.serviceTitanRecords()).bookings).toHaveLength(0);
  });

  it('creates bookings and finds them by externalId (unknown params ignored)', async () => {
    const h = await headers();
    const created = await createBooking(h, 'routing-1');
    await createBooking(h, 'routing-2');
    expect(created).toMatchObject({
      status: 'New',
      jobId: null,
      externalId: 'routing-1',
      bookingProviderId: Number(BP),
    });
    expect(typeof created.id).toBe('number');

    const found = await fetch(`${bookingsUrl()}?externalId=routing-1`, { headers: h });
    const page = (await found.json()) as { data: { id: number }[]; hasMore: boolean; page: number; pageSize: number };
    expect(page).toMatchObject({ page: 1, pageSize: 50, hasMore: false });
    expect(page.data.map((b) => b.id)).toEqual([created.id]);

    const one = await fetch(`${bookingsUrl()}/${created.id}`, { headers: h });
    expect(((await one.json()) as { id: number }).id).toBe(created.id);
    expect((await fetch(`${bookingsUrl()}/999`, { headers: h })).status).toBe(404);

    const typo = await fetch(`${bookingsUrl()}?externalIdd=routing-1`, { headers: h });
    expect(((await typo.json()) as { data: unknown[] }).data).toHaveLength(2);
  });

  it('rejects more than 50 ids with the Ids error', async () => {
    const h = await headers();
    const ids = Array.from({ length: 51 }, (_, i) => i + 1).join(',');
    const res = await fetch(`${sandbox.url}/jpm/v2/tenant/${TENANT}/jobs?ids=${ids}`, { headers: h });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: Record<string, string[]> };
    expect(body.errors.Ids[0]).toMatch(/50/);
    const ok = await fetch(`${sandbox.url}/jpm/v2/tenant/${TENANT}/jobs?ids=${ids.split(',').slice(0, 50).join(',')}`, {
      headers: h,
    });
    expect(ok.status).toBe(200);
  });

  it('pages with hasMore and totalCount only when includeTotal=true', async () => {
    const h = await headers();
    for (let i = 0; i < 5; i++) await createBooking(h, `p-${i}`);
    const p1 = (await (await fetch(`${bookingsUrl()}?page=1&pageSize=2&includeTotal=true`, { headers: h })).json()) as {
      hasMore: boolean;
      totalCount: number;
      data: { externalId: string }[];
    };
    expect(p1.hasMore).toBe(true);
    expect(p1.totalCount).toBe(5);
    expect(p1.data.map((b) => b.externalId)).toEqual(['p-0', 'p-1']);
    const p3 = (await (await fetch(`${bookingsUrl()}?page=3&pageSize=2`, { headers: h })).json()) as Record<
      string,
      unknown
    >;
    expect(p3.hasMore).toBe(false);
    expect(p3).not.toHaveProperty('totalCount');
    expect((p3.data as unknown[]).length).toBe(1);
  });

  it('moves a booking to a Completed job with an invoice in decimal strings', async () => {
    const h = await headers();
    const booking = await createBooking(h, 'life-1');
    const converted = await control.convertBooking(booking.id);
    expect(converted.booking.status).toBe('Converted');
    expect(converted.job?.jobStatus).toBe('Scheduled');
    await control.startBooking(booking.id);
    const done = await control.completeBooking(booking.id, 123450);
    expect(done.job).toMatchObject({ jobStatus: 'Completed', bookingId: booking.id, total: 1234.5 });

    const fetched = (await (await fetch(`${bookingsUrl()}/${booking.id}`, { headers: h })).json()) as {
      jobId: number;
      status: string;
    };
    expect(fetched.status).toBe('Converted');
    const job = (await (
      await fetch(`${sandbox.url}/jpm/v2/tenant/${TENANT}/jobs/${fetched.jobId}`, { headers: h })
    ).json()) as {
      jobStatus: string;
      completedOn: string | null;
      invoiceId: number;
    };
    expect(job.jobStatus).toBe('Completed');
    expect(Number.isNaN(Date.parse(job.completedOn ?? ''))).toBe(false);

    const invoices = (await (
      await fetch(`${sandbox.url}/accounting/v2/tenant/${TENANT}/invoices?jobId=${fetched.jobId}`, { headers: h })
    ).json()) as {
      data: { id: number; total: string; subTotal: string; salesTax: string; balance: string; job: { id: number } }[];
    };
    expect(invoices.data).toHaveLength(1);
    expect(invoices.data[0]).toMatchObject({
      id: job.invoiceId,
      total: '1234.50',
      subTotal: '1234.50',
      salesTax: '0.00',
      balance: '1234.50',
    });
    expect(invoices.data[0].job.id).toBe(fetched.jobId);

    await expect(control.cancelBooking(booking.id)).rejects.toMatchObject({ status: 409 });
    const other = await createBooking(h, 'life-2');
    expect((await control.dismissBooking(other.id)).booking.status).toBe('Dismissed');
  });
});
