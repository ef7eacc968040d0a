import { startSandbox } from '../../sandbox/sandbox';
import { SandboxControl } from '../../sandbox/sandbox-control.client';
import { ServiceTitanCredentials, ServiceTitanSettings, serviceTitanCredentials } from '.';
import { ProviderCallHooks, Referral } from '../field-service-provider';
import { ProviderError } from '../provider-error';
import { ServiceTitanClient } from './servicetitan.client';
import { ServiceTitanProvider } from './servicetitan.provider';

const BOOKINGS_ROUTE = 'GET /crm/v2/tenant/{tenant}/booking-provider/{bookingProvider}/bookings';
const CREATE_ROUTE = 'POST /crm/v2/tenant/{tenant}/booking-provider/{bookingProvider}/bookings';
const JOBS_ROUTE = 'GET /jpm/v2/tenant/{tenant}/jobs';
const INVOICES_ROUTE = 'GET /accounting/v2/tenant/{tenant}/invoices';
const TOKEN_ROUTE = 'POST /connect/token';

const credentials: ServiceTitanCredentials = {
  tenantId: '1001',
  clientId: 'cid.tradeengage',
  clientSecret: 'cs1.very-secret-value',
  bookingProviderId: '77',
};

function referral(n: number, overrides: Partial<Referral> = {}): Referral {
  return {
    routingId: `routing-${n}`,
    jobId: `job-${n}`,
    referringCompanyName: 'Acme Plumbing',
    homeowner: {
      firstName: 'Ada',
      lastName: `Lovelace${n}`,
      phone: `+1512555${String(n).padStart(4, '0')}`,
      email: `ada${n}@example.com`,
    },
    address: { street: `${n} Main St`, unit: null, city: 'Austin', state: 'TX', zip: '78701', country: 'US' },
    summary: 'Water heater leaking',
    trade: 'plumbing',
    ...overrides,
  };
}

async function expectProviderError(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

describe('ServiceTitanProvider against the sandbox', () => {
  let sandbox: Awaited<ReturnType<typeof startSandbox>>;
  let control: SandboxControl;
  let settings: ServiceTitanSettings;

  const newProvider = (overrides: Partial<ServiceTitanSettings> = {}) =>
    new ServiceTitanProvider(new ServiceTitanClient({ ...settings, ...overrides }));
  const routeCount = async (route: string) => (await control.stats()).providers.servicetitan.byRoute[route]?.count ?? 0;
  const createMany = async (provider: ServiceTitanProvider, count: number, from = 0) => {
    const created: string[] = [];
    for (let i = 0; i < count; i += 25) {
      const batch = Array.from({ length: Math.min(25, count - i) }, (_, k) => from + i + k);
      const results = await Promise.all(
        batch.map((n) => provider.createReferral({ mayAlreadyExist: true, credentials, referral: referral(n) })),
      );
      created.push(...results.map((r) => r.externalId));
    }
    return created;
  };

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0, autoLifecycle: false, autoRegister: false });
    control = new SandboxControl(sandbox.url);
    settings = { authUrl: sandbox.url, apiUrl: sandbox.url, appKey: 'ak1.tradeengage-app', requestTimeoutMs: 5000 };
  });
  afterAll(() => sandbox.close());
  beforeEach(async () => {
    await control.reset();
    await control.registerServiceTitanTenant(credentials);
  });

  describe('credentials schema', () => {
    const issues = (input: unknown) => {
      const result = serviceTitanCredentials.safeParse(input);
      return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };

    it('accepts numbers for integer ids and returns trimmed strings', () => {
      expect(
        serviceTitanCredentials.parse({ tenantId: 1001, clientId: ' cid ', clientSecret: 's', bookingProviderId: 77 }),
      ).toEqual({ tenantId: '1001', clientId: 'cid', clientSecret: 's', bookingProviderId: '77' });
    });

    it.each<[string, unknown, string[]]>([
      ['missing tenantId', { clientId: 'c', clientSecret: 's', bookingProviderId: '1' }, ['tenantId: is required']],
      [
        'tenantId not digits',
        { tenantId: 'abc', clientId: 'c', clientSecret: 's', bookingProviderId: '1' },
        ['tenantId: must be an integer id (digits only)'],
      ],
      [
        'tenantId fractional',
        { tenantId: 1.5, clientId: 'c', clientSecret: 's', bookingProviderId: '1' },
        ['tenantId: must be an integer id (digits only)'],
      ],
      [
        'blank clientSecret',
        { tenantId: '1', clientId: 'c', clientSecret: '  ', bookingProviderId: '1' },
        ['clientSecret: is required'],
      ],
      [
        'numeric clientSecret',
        { tenantId: '1', clientId: 'c', clientSecret: 5, bookingProviderId: '1' },
        ['clientSecret: must be a string'],
      ],
      [
        'a CR/LF in clientId',
        { tenantId: '1', clientId: 'c\r\nX-Evil: 1', clientSecret: 's', bookingProviderId: '1' },
        ['clientId: must not contain control characters'],
      ],
      [
        'everything missing, all at once',
        {},
        [
          'tenantId: is required',
          'clientId: is required',
          'clientSecret: is required',
          'bookingProviderId: is required',
        ],
      ],
      [
        'an unknown field',
        { tenantId: '1', clientId: 'c', clientSecret: 's', bookingProviderId: '1', apiKey: 'x' },
        [': Unrecognized key: "apiKey"'],
      ],
    ])('%s', (_name, input, expected) => {
      expect(issues(input)).toEqual(expected);
    });

    it('never echoes the secret in its errors', () => {
      const input = { tenantId: 'x', clientId: 'c', clientSecret: 'top-secret\u0000', bookingProviderId: '1' };
      expect(JSON.stringify(issues(input))).not.toContain('top-secret');
    });
  });

  it('skips the lookup for a routing that never sent a create, and flags the create request', async () => {
    const provider = newProvider();
    const flags: boolean[] = [];
    const hooks: ProviderCallHooks = {
      beforeRequest: async ({ createsRecord }) => {
        flags.push(createsRecord);
      },
    };
    const created = await provider.createReferral({
      credentials,
      referral: referral(9),
      mayAlreadyExist: false,
      hooks,
    });
    expect(created.created).toBe(true);
    expect(await routeCount(BOOKINGS_ROUTE)).toBe(0);
    expect(await routeCount(CREATE_ROUTE)).toBe(1);
    // The token request, then the booking create, which is the only request flagged.
    expect(flags).toEqual([false, true]);
  });

  it('creates a booking once and finds it again by externalId', async () => {
    const provider = newProvider();
    const events: string[] = [];
    const hooks: ProviderCallHooks = {
      requestId: 'req-st-1',
      beforeRequest: async () => {
        events.push('before');
      },
      afterResponse: (info) => events.push(`after:${info.status}`),
    };

    const first = await provider.createReferral({ mayAlreadyExist: true, credentials, referral: referral(1), hooks });
    const second = await provider.createReferral({ mayAlreadyExist: true, credentials, referral: referral(1), hooks });

    expect(first).toEqual({ externalId: expect.stringMatching(/^\d+$/), created: true });
    expect(second).toEqual({ externalId: first.externalId, created: false });
    const records = await control.serviceTitanRecords();
    expect(records.bookings).toHaveLength(1);
    expect(records.bookings[0]).toMatchObject({
      id: Number(first.externalId),
      externalId: 'routing-1',
      source: 'TradeEngage referral from Acme Plumbing',
      name: 'Ada Lovelace1',
      isFirstTimeClient: true,
      customerType: 'Residential',
      appKey: 'ak1.tradeengage-app',
      address: { street: '1 Main St', city: 'Austin', state: 'TX', zip: '78701', country: 'US' },
      contacts: [
        expect.objectContaining({ type: 'MobilePhone', value: '+15125550001' }),
        expect.objectContaining({ type: 'Email', value: 'ada1@example.com' }),
      ],
    });
    // token, lookup, create, then lookup again with the cached token
    expect(events).toEqual([
      'before',
      'after:200',
      'before',
      'after:200',
      'before',
      'after:200',
      'before',
      'after:200',
    ]);
    const log = await control.requests({ provider: 'servicetitan' });
    expect(log.map((r) => r.route)).toEqual([TOKEN_ROUTE, BOOKINGS_ROUTE, CREATE_ROUTE, BOOKINGS_ROUTE]);
    for (const entry of log) expect(entry.headers['x-request-id']).toBe('req-st-1');
    for (const entry of log.slice(1)) {
      expect(entry.headers.authorization).toBe('Bearer ***');
      expect(entry.headers['st-app-key']).toBe('ak1.tradeengage-app');
    }
  });

  it('reads statuses through the booking and job lifecycle, with invoice revenue', async () => {
    const provider = newProvider();
    const [a, b, c, d] = await createMany(provider, 4);
    const queries = [a, b, c, d].map((externalId, i) => ({ routingId: `routing-${i}`, externalId }));
    const read = async () =>
      provider.getStatuses({ credentials, queries: [...queries, { routingId: 'gone', externalId: '99999' }] });

    let statuses = await read();
    expect(statuses.map((s) => [s.status, s.rawStatus])).toEqual(Array(4).fill(['received', 'Booking:New']));

    await control.convertBooking(a);
    await control.dismissBooking(b);
    await control.convertBooking(c);
    await control.startBooking(c);
    await control.holdBooking(d);
    statuses = await read();
    expect(statuses.map((s) => [s.routingId, s.status, s.rawStatus])).toEqual([
      ['routing-0', 'scheduled', 'Scheduled'],
      ['routing-1', 'canceled', 'Booking:Dismissed'],
      ['routing-2', 'in_progress', 'InProgress'],
      ['routing-3', 'on_hold', 'Hold'],
    ]);

    const completed = await control.completeBooking(a, 123_45);
    await control.cancelBooking(c);
    statuses = await read();
    expect(statuses[0]).toEqual({
      routingId: 'routing-0',
      externalId: a,
      status: 'completed',
      rawStatus: 'Completed',
      completedAt: new Date(completed.job!.completedOn!),
      revenueCents: 12345,
    });
    expect(statuses[2]).toMatchObject({
      status: 'canceled',
      rawStatus: 'Canceled',
      revenueCents: null,
      completedAt: null,
    });
  });

  it('sums several invoices exactly and reads a zero-revenue completion', async () => {
    const provider = newProvider();
    const [a, b] = await createMany(provider, 2);
    await control.completeBooking(a, 1999);
    await control.completeBooking(b, 0);
    const statuses = await provider.getStatuses({
      credentials,
      queries: [
        { routingId: 'r-a', externalId: a },
        { routingId: 'r-b', externalId: b },
      ],
    });
    expect(statuses.map((s) => s.revenueCents)).toEqual([1999, 0]);
  });

  it('renews an expiring token shortly before it expires (10% early for a 2 s token)', async () => {
    await control.setOptions({ tokenTtlSeconds: 2 });
    const provider = newProvider();
    const sleepUntil = (at: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
    const startedAt = Date.now();
    const [id] = await createMany(provider, 1);
    const read = () => provider.getStatuses({ credentials, queries: [{ routingId: 'r', externalId: id }] });

    await sleepUntil(startedAt + 1000);
    await control.resetStats();
    await read();
    expect((await control.stats()).providers.servicetitan.tokenRequests).toBe(0);

    // Past 90% of the lifetime but before the sandbox expires it: a new token, and no 401 first.
    await sleepUntil(startedAt + 1900);
    await read();
    await sleepUntil(startedAt + 2300);
    await read();
    const stats = (await control.stats()).providers.servicetitan;
    expect(stats.tokenRequests).toBe(1);
    expect(stats.byStatus['401']).toBeUndefined();
  });

  it('after a 401 drops the token, fetches a new one and retries once', async () => {
    const provider = newProvider();
    await provider.getStatuses({ credentials, queries: [{ routingId: 'r', externalId: '1' }] });
    // The sandbox forgets every token it issued; our cached one is now refused.
    await control.reset();
    await control.registerServiceTitanTenant(credentials);
    const created = await provider.createReferral({ mayAlreadyExist: true, credentials, referral: referral(5) });
    expect(created.created).toBe(true);
    const stats = (await control.stats()).providers.servicetitan;
    expect(stats.tokenRequests).toBe(1);
    expect(stats.byRoute[BOOKINGS_ROUTE].byStatus).toEqual({ '401': 1, '200': 1 });
  });

  it('a second 401 after refreshing is a permanent AUTH error', async () => {
    const provider = newProvider();
    // The client is valid but not connected to this tenant: every API call answers 401.
    const error = await expectProviderError(
      provider.createReferral({
        mayAlreadyExist: true,
        credentials: { ...credentials, tenantId: '2002' },
        referral: referral(1),
      }),
    );
    expect(error).toMatchObject({ code: 'AUTH', retryable: false, httpStatus: 401 });
    expect(error.message).not.toContain(credentials.clientSecret);
    const stats = (await control.stats()).providers.servicetitan;
    expect(stats.tokenRequests).toBe(2);
    expect(stats.byRoute[BOOKINGS_ROUTE].count).toBe(2);
  });

  it('wrong credentials at the token endpoint are a permanent AUTH error', async () => {
    const provider = newProvider();
    const error = await expectProviderError(
      provider.getStatuses({
        credentials: { ...credentials, clientSecret: 'wrong-secret' },
        queries: [{ routingId: 'r', externalId: '1' }],
      }),
    );
    expect(error).toMatchObject({ code: 'AUTH', retryable: false, httpStatus: 400 });
    expect(error.providerMessage).toContain('invalid_client');
    expect(error.message).not.toContain('wrong-secret');
    expect(error.message).not.toContain(credentials.clientSecret);
  });

  it('shares one token request between 20 concurrent reads', async () => {
    const provider = newProvider();
    const [id] = await createMany(newProvider(), 1);
    await control.resetStats();
    await Promise.all(
      Array.from({ length: 20 }, () =>
        provider.getStatuses({ credentials, queries: [{ routingId: 'r', externalId: id }] }),
      ),
    );
    const stats = (await control.stats()).providers.servicetitan;
    expect(stats.tokenRequests).toBe(1);
    expect(stats.byRoute[BOOKINGS_ROUTE].count).toBe(20);
  });

  it('429 with Retry-After is RATE_LIMITED, retryable, with retryAfterMs', async () => {
    const provider = newProvider();
    await control.setFaults('servicetitan', { rateLimitRate: 1, retryAfterSeconds: 7 });
    const seen: Array<{ status: unknown; retryAfterMs?: number }> = [];
    const error = await expectProviderError(
      provider.getStatuses({
        credentials,
        queries: [{ routingId: 'r', externalId: '1' }],
        hooks: { afterResponse: (info) => seen.push({ status: info.status, retryAfterMs: info.retryAfterMs }) },
      }),
    );
    expect(error).toMatchObject({ code: 'RATE_LIMITED', retryable: true, retryAfterMs: 7000, httpStatus: 429 });
    expect(seen).toEqual([
      { status: 200, retryAfterMs: undefined },
      { status: 429, retryAfterMs: 7000 },
    ]);
  });

  it.each([500, 502, 503])('%d is a retryable TEMPORARY error', async (status) => {
    const provider = newProvider();
    await control.setFaults('servicetitan', { errorRate: 1, errorStatus: status });
    const error = await expectProviderError(
      provider.createReferral({ mayAlreadyExist: true, credentials, referral: referral(1) }),
    );
    expect(error).toMatchObject({ code: 'TEMPORARY', retryable: true, httpStatus: status });
    expect(error.providerMessage).toContain(`Injected fault: HTTP ${status}`);
  });

  it('a timeout after the booking was created is retryable, and the retry finds the booking', async () => {
    await control.setFaults('servicetitan', { timeoutAfterCreateRate: 1 });
    const hurried = newProvider({ requestTimeoutMs: 300 });
    const statuses: unknown[] = [];
    const error = await expectProviderError(
      hurried.createReferral({
        mayAlreadyExist: false,
        credentials,
        referral: referral(9),
        hooks: { afterResponse: (info) => statuses.push(info.status) },
      }),
    );
    expect(error).toMatchObject({ code: 'TIMEOUT', retryable: true });
    // First attempt: the token, then straight to the create (nothing can exist yet), which never answers.
    expect(statuses).toEqual([200, 'timeout']);

    await control.clearFaults('servicetitan');
    const retry = await hurried.createReferral({ mayAlreadyExist: true, credentials, referral: referral(9) });
    const records = await control.serviceTitanRecords();
    expect(records.bookings).toHaveLength(1);
    expect(retry).toEqual({ externalId: String(records.bookings[0].id), created: false });
  });

  it('reads ids in chunks of 50: 120 bookings take 3 booking calls and 3 job calls', async () => {
    const ids = await createMany(newProvider(), 120);
    for (const id of ids) await control.convertBooking(id);
    await control.resetStats();
    const statuses = await newProvider().getStatuses({
      credentials,
      queries: ids.map((externalId, i) => ({ routingId: `routing-${i}`, externalId })),
    });
    expect(statuses).toHaveLength(120);
    expect(statuses.every((s) => s.status === 'scheduled')).toBe(true);
    expect(await routeCount(BOOKINGS_ROUTE)).toBe(3);
    expect(await routeCount(JOBS_ROUTE)).toBe(3);
    expect(await routeCount(INVOICES_ROUTE)).toBe(0);
    const log = await control.requests({ provider: 'servicetitan' });
    const bookingCalls = log
      .filter((r) => r.route === BOOKINGS_ROUTE)
      .map((r) => new URL(r.path, 'http://x').searchParams);
    expect(bookingCalls.map((p) => p.get('ids')!.split(',').length).sort()).toEqual([20, 50, 50]);
    expect(bookingCalls.every((p) => p.get('pageSize') === '50')).toBe(true);
  });

  it('1,000 routings of one tenant (all booked into jobs, half completed): token + 2 × ceil(n/50) + ceil(completed/50) calls', async () => {
    const n = 1000;
    const ids = await createMany(newProvider(), n);
    for (const [i, id] of ids.entries()) {
      if (i % 2 === 0) await control.completeBooking(id, 10_000 + i);
      else await control.convertBooking(id);
    }
    await control.resetStats();
    const provider = newProvider(); // fresh client: the token request is part of the cost
    const statuses = await provider.getStatuses({
      credentials,
      queries: ids.map((externalId, i) => ({ routingId: `routing-${i}`, externalId })),
    });

    const completed = n / 2;
    const expected = 1 + Math.ceil(n / 50) + Math.ceil(n / 50) + Math.ceil(completed / 50);
    const stats = (await control.stats()).providers.servicetitan;
    expect(stats.tokenRequests).toBe(1);
    expect(await routeCount(BOOKINGS_ROUTE)).toBe(20);
    expect(await routeCount(JOBS_ROUTE)).toBe(20);
    expect(await routeCount(INVOICES_ROUTE)).toBe(10);
    expect(stats.requests).toBe(expected);
    expect(expected).toBe(51);
    expect(statuses.filter((s) => s.status === 'completed')).toHaveLength(completed);
    expect(statuses[0]).toMatchObject({ status: 'completed', revenueCents: 10_000 });
    expect(statuses[998]).toMatchObject({ status: 'completed', revenueCents: 10_998 });
    expect(statuses[1]).toMatchObject({ status: 'scheduled', revenueCents: null });
    const invoiceCalls = (await control.requests({ provider: 'servicetitan' }))
      .filter((r) => r.route === INVOICES_ROUTE)
      .map((r) => new URL(r.path, 'http://x').searchParams);
    expect(invoiceCalls.every((p) => p.get('ids')!.split(',').length === 50 && !p.has('jobId'))).toBe(true);
  });

  it('reads invoices by jobId for a completed job whose response carries no invoiceId', async () => {
    // The published spec has no invoiceId on a job (providers.md 1.3): a client that never sees it.
    class NoInvoiceIdClient extends ServiceTitanClient {
      override async getJobsByIds(params: Parameters<ServiceTitanClient['getJobsByIds']>[0]) {
        return (await super.getJobsByIds(params)).map(({ invoiceId: _omitted, ...job }) => job);
      }
    }
    const ids = await createMany(newProvider(), 4);
    await control.completeBooking(ids[0], 1999);
    await control.completeBooking(ids[1], 2500);
    await control.convertBooking(ids[2]);
    await control.resetStats();

    const mixed = new ServiceTitanProvider(new NoInvoiceIdClient(settings));
    const statuses = await mixed.getStatuses({
      credentials,
      queries: ids.map((externalId, i) => ({ routingId: `routing-${i}`, externalId })),
    });
    expect(statuses.map((s) => [s.status, s.revenueCents])).toEqual([
      ['completed', 1999],
      ['completed', 2500],
      ['scheduled', null],
      ['received', null],
    ]);
    const invoiceCalls = (await control.requests({ provider: 'servicetitan' }))
      .filter((r) => r.route === INVOICES_ROUTE)
      .map((r) => new URL(r.path, 'http://x').searchParams);
    expect(invoiceCalls.map((p) => [p.get('jobId') !== null, p.get('ids')])).toEqual([
      [true, null],
      [true, null],
    ]);

    // With invoiceId on the job: one ids call for both, and the same revenue.
    await control.resetStats();
    const batched = await newProvider().getStatuses({
      credentials,
      queries: ids.map((externalId, i) => ({ routingId: `routing-${i}`, externalId })),
    });
    expect(batched).toEqual(statuses);
    expect(await routeCount(INVOICES_ROUTE)).toBe(1);
  });
});
