import { apiKeyId } from './housecallpro/store';
import { startSandbox, type RunningSandbox } from './sandbox';
import { SandboxControl } from './sandbox-control.client';

describe('sandbox: faults, limits, control', () => {
  let sandbox: RunningSandbox;
  let control: SandboxControl;

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 });
    control = new SandboxControl(sandbox.url);
  });
  afterAll(() => sandbox.close());
  beforeEach(() => control.reset());

  const hcp = (path: string, init: RequestInit = {}, apiKey = 'key-a') =>
    fetch(`${sandbox.url}${path}`, {
      ...init,
      headers: { Authorization: `Token ${apiKey}`, 'Content-Type': 'application/json', ...(init.headers ?? {}) },
    });

  async function stHeaders(): Promise<Record<string, string>> {
    const res = await fetch(`${sandbox.url}/connect/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_id=c1&client_secret=s1',
    });
    const { access_token } = (await res.json()) as { access_token: string };
    return { Authorization: `Bearer ${access_token}`, 'ST-App-Key': 'app', 'Content-Type': 'application/json' };
  }

  const booking = (externalId: string) =>
    JSON.stringify({
      source: 'TradeEngage',
      name: 'Jane',
      summary: 'Leak',
      isFirstTimeClient: false,
      externalId,
      contacts: [{ type: 'Email', value: 'jane@example.com' }],
    });

  async function hcpCustomer(apiKey = 'key-a'): Promise<{ id: string; addresses: { id: string }[] }> {
    const res = await hcp(
      '/customers',
      {
        method: 'POST',
        body: JSON.stringify({
          first_name: 'Jo',
          addresses: [{ street: '1 A St', city: 'X', state: 'TX', zip: '1', country: 'US' }],
        }),
      },
      apiKey,
    );
    return (await res.json()) as { id: string; addresses: { id: string }[] };
  }

  it('errorRate 1 answers every API call with the error status in provider style; tokens and control are spared', async () => {
    await control.setFaults('servicetitan', { errorRate: 1 });
    await control.setFaults('housecallpro', { errorRate: 1, errorStatus: 502 });
    const h = await stHeaders();
    const st = await fetch(`${sandbox.url}/jpm/v2/tenant/5/jobs`, { headers: h });
    expect(st.status).toBe(503);
    expect(st.headers.get('retry-after')).toBeNull();
    expect(await st.json()).toMatchObject({
      status: 503,
      title: 'Service Unavailable',
      traceId: expect.any(String),
      errors: {},
    });
    const res = await hcp('/jobs');
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({ error: { message: expect.any(String) } });

    await control.setFaults('servicetitan', { errorRate: 1, errorRetryAfterSeconds: 3 });
    expect((await fetch(`${sandbox.url}/jpm/v2/tenant/5/jobs`, { headers: h })).headers.get('retry-after')).toBe('3');
    await control.clearFaults('servicetitan');
    expect((await fetch(`${sandbox.url}/jpm/v2/tenant/5/jobs`, { headers: h })).status).toBe(200);
    expect((await control.stats()).providers.housecallpro.byStatus['502']).toBe(1);
  });

  it('rateLimitRate 1 answers 429 with Retry-After and counts it', async () => {
    await control.setFaults('housecallpro', { rateLimitRate: 1, retryAfterSeconds: 7 });
    const res = await hcp('/customers');
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(await res.json()).toEqual({ error: { message: expect.any(String) } });
    const stats = await control.stats();
    expect(stats.rateLimited).toBe(1);
    expect(stats.providers.housecallpro.byRoute['GET /customers']).toEqual({ count: 1, byStatus: { '429': 1 } });
  });

  it('adds latency, also to token requests', async () => {
    await control.setFaults('servicetitan', { latencyMs: 150 });
    const started = Date.now();
    await stHeaders();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('is deterministic with a seed', async () => {
    const run = async () => {
      await control.setFaults('housecallpro', { errorRate: 0.5, seed: 42 });
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) statuses.push((await hcp('/tags')).status);
      return statuses;
    };
    const first = await run();
    expect(await run()).toEqual(first);
    expect(first).toContain(503);
    expect(first).toContain(200);
  });

  it('timeoutAfterCreate stores the record and never answers', async () => {
    await control.setFaults('servicetitan', { timeoutAfterCreateRate: 1 });
    await control.setFaults('housecallpro', { timeoutAfterCreateRate: 1 });
    const h = await stHeaders();
    await expect(
      fetch(`${sandbox.url}/crm/v2/tenant/5/booking-provider/9/bookings`, {
        method: 'POST',
        headers: h,
        body: booking('held-1'),
        signal: AbortSignal.timeout(300),
      }),
    ).rejects.toThrow();
    const customer = await hcpCustomer();
    await expect(
      hcp('/jobs', {
        method: 'POST',
        body: JSON.stringify({ customer_id: customer.id, address_id: customer.addresses[0].id, tags: ['r-9'] }),
        signal: AbortSignal.timeout(300),
      }),
    ).rejects.toThrow();

    const st = await control.serviceTitanRecords();
    expect(st.bookings.filter((b) => b.externalId === 'held-1')).toHaveLength(1);
    const found = await fetch(`${sandbox.url}/crm/v2/tenant/5/booking-provider/9/bookings?externalId=held-1`, {
      headers: h,
    });
    expect(((await found.json()) as { data: unknown[] }).data).toHaveLength(1);
    expect((await control.housecallProRecords()).jobs.map((j) => j.tags)).toEqual([['r-9']]);
    await new Promise((r) => setTimeout(r, 50));
    const log = await control.requests({ provider: 'servicetitan', limit: 5 });
    expect(log.find((e) => e.method === 'POST' && e.path.endsWith('/bookings'))?.status).toBe('no_response');
  });

  it('enforces per-account limits with a sliding window and Retry-After', async () => {
    await control.setLimits('housecallpro', { perSecond: 3 });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await hcp('/tags')).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const limited = await hcp('/tags');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another account has its own window.
    expect((await hcp('/tags', {}, 'key-b')).status).toBe(200);
    const stats = await control.stats();
    expect(stats.rateLimited).toBe(3);
    expect(stats.providers.housecallpro.byAccount).toEqual({ [apiKeyId('key-a')]: 6, [apiKeyId('key-b')]: 1 });

    await new Promise((r) => setTimeout(r, 1050));
    expect((await hcp('/tags')).status).toBe(200);
  });

  it('limits ServiceTitan per tenant', async () => {
    await control.setLimits('servicetitan', { perMinute: 2 });
    const h = await stHeaders();
    const get = (tenant: string) =>
      fetch(`${sandbox.url}/jpm/v2/tenant/${tenant}/jobs`, { headers: h }).then((r) => r.status);
    expect([await get('5'), await get('5'), await get('5'), await get('6')]).toEqual([200, 200, 429, 200]);
  });

  it('masks credentials in the request log and names the api key by its id', async () => {
    await hcp('/jobs', {}, 'super-secret-key');
    const { keyId } = await control.registerHousecallProCompany({ apiKey: 'super-secret-key' });
    expect(keyId).toMatch(/^hcpk_[0-9a-f]{12}$/);
    const [entry] = await control.requests({ provider: 'housecallpro', limit: 1 });
    expect(entry).toMatchObject({ method: 'GET', route: 'GET /jobs', status: 200, account: keyId, credential: keyId });
    expect(entry.headers.authorization).toBe('Token ***');
    expect(JSON.stringify(await control.requests())).not.toContain('super-secret-key');
    expect(JSON.stringify(await control.stats())).not.toContain('super-secret-key');
    expect(JSON.stringify(await control.records())).not.toContain('super-secret-key');
  });

  it('shows which ServiceTitan tenant and client each call used', async () => {
    const tokenFor = async (clientId: string) => {
      const res = await fetch(`${sandbox.url}/connect/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: `grant_type=client_credentials&client_id=${clientId}&client_secret=s-${clientId}`,
      });
      return ((await res.json()) as { access_token: string }).access_token;
    };
    await control.registerServiceTitanTenant({
      tenantId: 5,
      clientId: 'old-client',
      clientSecret: 's-old-client',
      bookingProviderId: 9,
    });
    await control.registerServiceTitanTenant({
      tenantId: 5,
      clientId: 'new-client',
      clientSecret: 's-new-client',
      bookingProviderId: 9,
    });
    for (const [clientId, calls] of [
      ['old-client', 2],
      ['new-client', 1],
    ] as const) {
      const token = await tokenFor(clientId);
      for (let i = 0; i < calls; i++) {
        await fetch(`${sandbox.url}/jpm/v2/tenant/5/jobs`, {
          headers: { Authorization: `Bearer ${token}`, 'ST-App-Key': 'app' },
        });
      }
    }
    const stats = (await control.stats()).providers.servicetitan;
    expect(stats.byAccount).toEqual({ '5': 3 });
    expect(stats.byCredential).toEqual({ 'old-client': 2, 'new-client': 1 });
    const log = await control.requests({ provider: 'servicetitan' });
    expect(log.filter((e) => e.route === 'GET /jpm/v2/tenant/{tenant}/jobs').map((e) => e.credential)).toEqual([
      'old-client',
      'old-client',
      'new-client',
    ]);
  });

  it('auto-lifecycle moves new records to completion with revenue', async () => {
    await control.setOptions({ autoLifecycle: { completeAfterMs: 300 } });
    const h = await stHeaders();
    const ids: number[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${sandbox.url}/crm/v2/tenant/5/booking-provider/9/bookings`, {
        method: 'POST',
        headers: h,
        body: booking(`auto-${i}`),
      });
      ids.push(((await res.json()) as { id: number }).id);
    }
    const customer = await hcpCustomer();
    await hcp('/jobs', {
      method: 'POST',
      body: JSON.stringify({ customer_id: customer.id, address_id: customer.addresses[0].id }),
    });
    await new Promise((r) => setTimeout(r, 600));

    const st = await control.serviceTitanRecords();
    expect(st.bookings.every((b) => b.status === 'Converted')).toBe(true);
    expect(st.jobs.every((j) => j.jobStatus === 'Completed' || j.jobStatus === 'Canceled')).toBe(true);
    for (const job of st.jobs.filter((j) => j.jobStatus === 'Completed')) {
      const invoice = st.invoices.find((i) => i.jobId === job.id);
      expect(Number(invoice?.total)).toBeGreaterThanOrEqual(150);
      expect(Number(invoice?.total)).toBeLessThanOrEqual(2500);
    }
    const [hcpJob] = (await control.housecallProRecords()).jobs;
    expect(['complete unrated', 'pro canceled']).toContain(hcpJob.work_status);
  });

  it('reset clears records, accounts, faults, limits, stats and options', async () => {
    await control.setOptions({ autoRegister: false, tokenTtlSeconds: 5 });
    await control.registerHousecallProCompany({ apiKey: 'key-a' });
    await hcpCustomer();
    await control.setFaults('housecallpro', { latencyMs: 1 });
    await control.setLimits('housecallpro', { perMinute: 100 });

    await control.reset();
    expect(await control.getOptions()).toEqual({ autoRegister: true, tokenTtlSeconds: 900, autoLifecycle: false });
    const records = await control.housecallProRecords();
    expect(records.companies).toEqual([]);
    expect(records.customers).toEqual([]);
    expect(await control.getFaults('housecallpro')).toEqual({});
    expect(await control.getLimits('housecallpro')).toEqual({});
    expect((await control.stats()).requests).toBe(0);
  });

  it('rejects invalid control input', async () => {
    await expect(control.setFaults('housecallpro', { errorRate: 2 })).rejects.toMatchObject({ status: 400 });
    await expect(control.setLimits('servicetitan', {})).rejects.toMatchObject({ status: 400 });
    await expect(control.setOptions({ tokenTtlSeconds: -1 })).rejects.toMatchObject({ status: 400 });
    await expect(control.completeBooking(123)).rejects.toMatchObject({ status: 404 });
  });
});
