import { startSandbox } from '../../sandbox/sandbox';
import { SandboxControl } from '../../sandbox/sandbox-control.client';
import { HousecallProCredentials, HousecallProSettings, housecallProCredentials } from '.';
import { Referral } from '../field-service-provider';
import { ProviderError } from '../provider-error';
import { HousecallProClient } from './housecallpro.client';
import { HCP_CHANGES_OVERLAP_MS, HousecallProProvider } from './housecallpro.provider';

const credentials: HousecallProCredentials = { apiKey: 'hcp_key_tradeengage_1' };

function referral(n: number, overrides: Partial<Referral> = {}): Referral {
  return {
    routingId: `routing-${n}`,
    jobId: `job-${n}`,
    referringCompanyName: 'Acme Plumbing',
    homeowner: {
      firstName: 'Grace',
      lastName: `Hopper${n}`,
      phone: `(512) 555-${String(n).padStart(4, '0')}`,
      email: `grace${n}@example.com`,
    },
    address: { street: `${n} Oak Ave`, unit: null, city: 'Austin', state: 'TX', zip: '78701', country: 'US' },
    summary: 'AC not cooling',
    trade: 'hvac',
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

describe('HousecallProProvider against the sandbox', () => {
  let sandbox: Awaited<ReturnType<typeof startSandbox>>;
  let control: SandboxControl;
  let settings: HousecallProSettings;

  const newProvider = (overrides: Partial<HousecallProSettings> = {}) =>
    new HousecallProProvider(new HousecallProClient({ ...settings, ...overrides }));
  const routes = async () =>
    Object.fromEntries(
      Object.entries((await control.stats()).providers.housecallpro.byRoute).map(([route, s]) => [route, s.count]),
    );
  const createMany = async (
    provider: HousecallProProvider,
    count: number,
    make: (n: number) => Referral = referral,
  ) => {
    const ids: string[] = [];
    for (let i = 0; i < count; i += 25) {
      const batch = Array.from({ length: Math.min(25, count - i) }, (_, k) => i + k);
      const results = await Promise.all(
        batch.map((n) => provider.createReferral({ mayAlreadyExist: true, credentials, referral: make(n) })),
      );
      ids.push(...results.map((r) => r.externalId));
    }
    return ids;
  };

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0, autoLifecycle: false, autoRegister: false });
    control = new SandboxControl(sandbox.url);
    settings = { apiUrl: sandbox.url, requestTimeoutMs: 5000 };
  });
  afterAll(() => sandbox.close());
  beforeEach(async () => {
    await control.reset();
    await control.registerHousecallProCompany(credentials);
  });

  describe('credentials schema', () => {
    it('keeps the trimmed api key', () => {
      expect(housecallProCredentials.parse({ apiKey: ' k1 ' })).toEqual({ apiKey: 'k1' });
    });

    it.each<[unknown, string]>([
      [{}, 'apiKey: is required'],
      [{ apiKey: '' }, 'apiKey: is required'],
      [{ apiKey: 42 }, 'apiKey: must be a string'],
      [{ apiKey: 'k\n1' }, 'apiKey: must not contain control characters'],
    ])('%p', (input, message) => {
      const result = housecallProCredentials.safeParse(input);
      expect(result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
        message,
      ]);
    });
  });

  it('creates customer and tagged job once, and a retry finds the job', async () => {
    const provider = newProvider();
    const first = await provider.createReferral({
      mayAlreadyExist: true,
      credentials,
      referral: referral(1),
      hooks: { requestId: 'req-hcp-1' },
    });
    const second = await provider.createReferral({ mayAlreadyExist: true, credentials, referral: referral(1) });

    expect(first).toEqual({ externalId: expect.stringMatching(/^job_/), created: true });
    expect(second).toEqual({ externalId: first.externalId, created: false });
    const records = await control.housecallProRecords();
    expect(records.customers).toHaveLength(1);
    expect(records.jobs).toHaveLength(1);
    expect(records.customers[0]).toMatchObject({
      first_name: 'Grace',
      last_name: 'Hopper1',
      email: 'grace1@example.com',
      mobile_number: '5125550001',
      lead_source: 'TradeEngage',
      addresses: [expect.objectContaining({ street: '1 Oak Ave', zip: '78701', city: 'Austin' })],
    });
    expect(records.jobs[0]).toMatchObject({
      id: first.externalId,
      customer_id: records.customers[0].id,
      address_id: records.customers[0].addresses[0].id,
      tags: ['tradeengage', 'te-routing-routing-1'],
      lead_source: 'TradeEngage',
      notes: 'AC not cooling\n\nReferred by Acme Plumbing via TradeEngage.\nTrade: hvac',
    });

    const log = await control.requests({ provider: 'housecallpro' });
    expect(log.map((r) => r.route)).toEqual([
      'GET /customers', // by phone
      'GET /customers', // by email
      'POST /customers',
      'POST /jobs',
      'GET /customers', // retry: found by phone
      'GET /jobs', // job with our tag
    ]);
    expect(log.every((r) => r.headers.authorization === 'Token ***')).toBe(true);
    expect(log.slice(0, 4).every((r) => r.headers['x-request-id'] === 'req-hcp-1')).toBe(true);
    expect(new URL(log[0].path, 'http://x').searchParams.get('q')).toBe('5125550001');
  });

  it('reuses an existing customer found by phone, adding the new service address', async () => {
    const provider = newProvider();
    await provider.createReferral({ mayAlreadyExist: true, credentials, referral: referral(2) });
    // Same homeowner, phone written differently, new property.
    const other = referral(2, {
      routingId: 'routing-2b',
      homeowner: { firstName: 'Grace', lastName: 'Hopper2', phone: '+1 512 555 0002', email: null },
      address: { street: '99 Pine Rd', unit: 'Unit 4', city: 'Austin', state: 'TX', zip: '78702', country: 'US' },
    });
    const created = await provider.createReferral({ mayAlreadyExist: true, credentials, referral: other });

    const records = await control.housecallProRecords();
    expect(records.customers).toHaveLength(1);
    expect(records.customers[0].addresses.map((a) => a.street)).toEqual(['2 Oak Ave', '99 Pine Rd']);
    const job = records.jobs.find((j) => j.id === created.externalId)!;
    expect(job.address_id).toBe(records.customers[0].addresses[1].id);
    expect(records.customers[0].addresses[1].street_line_2).toBe('Unit 4');
  });

  it('finds a customer by email when the phone matches nobody, and never trusts a fuzzy q hit', async () => {
    const provider = newProvider();
    await provider.createReferral({ mayAlreadyExist: true, credentials, referral: referral(3) });
    // A new phone number: the phone search finds nothing, the email search finds the customer.
    const byEmail = referral(3, {
      routingId: 'routing-3b',
      homeowner: { firstName: 'Grace', lastName: 'Hopper3', phone: '5125559999', email: 'GRACE3@example.com' },
    });
    await provider.createReferral({ mayAlreadyExist: true, credentials, referral: byEmail });
    // q is a substring search: "grace3@example.co" hits grace3@example.com, which is someone else.
    const stranger = referral(31, {
      homeowner: { firstName: 'Other', lastName: 'Person', phone: '5125550300', email: 'grace3@example.co' },
    });
    await provider.createReferral({ mayAlreadyExist: true, credentials, referral: stranger });

    const records = await control.housecallProRecords();
    expect(records.customers.map((c) => c.email).sort()).toEqual(['grace3@example.co', 'grace3@example.com']);
    expect(records.jobs).toHaveLength(3);
  });

  it('reads work_status through the lifecycle, with completion time and total_amount', async () => {
    const provider = newProvider();
    const [a, b, c] = await createMany(provider, 3);
    const queries = [
      { routingId: 'ra', externalId: a },
      { routingId: 'rb', externalId: b },
      { routingId: 'rc', externalId: c },
      { routingId: 'gone', externalId: 'job_does_not_exist' },
    ];
    let statuses = await provider.getStatuses({ credentials, queries });
    expect(statuses.map((s) => [s.routingId, s.status, s.rawStatus])).toEqual([
      ['ra', 'received', 'needs scheduling'],
      ['rb', 'received', 'needs scheduling'],
      ['rc', 'received', 'needs scheduling'],
    ]);

    await control.scheduleHcpJob(a);
    await control.startHcpJob(b);
    await control.cancelHcpJob(c);
    statuses = await provider.getStatuses({ credentials, queries });
    expect(statuses.map((s) => [s.status, s.rawStatus])).toEqual([
      ['scheduled', 'scheduled'],
      ['in_progress', 'in progress'],
      ['canceled', 'pro canceled'],
    ]);

    const done = await control.completeHcpJob(a, 45_50);
    statuses = await provider.getStatuses({ credentials, queries: queries.slice(0, 1) });
    expect(statuses).toEqual([
      {
        routingId: 'ra',
        externalId: a,
        status: 'completed',
        rawStatus: 'complete unrated',
        completedAt: new Date(done.job.work_timestamps.completed_at!),
        revenueCents: 4550,
      },
    ]);
  });

  it('an unknown API key is a permanent AUTH error', async () => {
    const error = await expectProviderError(
      newProvider().getStatuses({
        credentials: { apiKey: 'not-a-key' },
        queries: [{ routingId: 'r', externalId: 'job_1' }],
      }),
    );
    expect(error).toMatchObject({ code: 'AUTH', retryable: false, httpStatus: 401, providerMessage: 'Unauthorized' });
    expect(error.message).not.toContain('not-a-key');
  });

  it('429 with Retry-After is RATE_LIMITED with retryAfterMs; 5xx is TEMPORARY', async () => {
    await control.setFaults('housecallpro', { rateLimitRate: 1, retryAfterSeconds: 3 });
    const limited = await expectProviderError(
      newProvider().createReferral({ mayAlreadyExist: true, credentials, referral: referral(1) }),
    );
    expect(limited).toMatchObject({ code: 'RATE_LIMITED', retryable: true, retryAfterMs: 3000, httpStatus: 429 });

    await control.setFaults('housecallpro', { errorRate: 1, errorStatus: 502 });
    const failed = await expectProviderError(
      newProvider().createReferral({ mayAlreadyExist: true, credentials, referral: referral(1) }),
    );
    expect(failed).toMatchObject({ code: 'TEMPORARY', retryable: true, httpStatus: 502 });
  });

  it('a timeout after the job was created is retryable, and the retry finds the job by its tag', async () => {
    await control.setFaults('housecallpro', { timeoutAfterCreateRate: 1 });
    const hurried = newProvider({ requestTimeoutMs: 300 });
    const error = await expectProviderError(
      hurried.createReferral({ mayAlreadyExist: true, credentials, referral: referral(7) }),
    );
    expect(error).toMatchObject({ code: 'TIMEOUT', retryable: true });

    await control.clearFaults('housecallpro');
    const retry = await hurried.createReferral({ mayAlreadyExist: true, credentials, referral: referral(7) });
    const records = await control.housecallProRecords();
    expect(records.customers).toHaveLength(1);
    expect(records.jobs).toHaveLength(1);
    expect(retry).toEqual({ externalId: records.jobs[0].id, created: false });
  });

  it('pages through a customer with many jobs to find the tagged one', async () => {
    const provider = newProvider();
    // One homeowner, 150 referrals: the customer ends up with two pages of jobs.
    const sameHomeowner = (n: number) =>
      referral(n, { homeowner: referral(0).homeowner, address: referral(0).address });
    const ids: string[] = [];
    for (let n = 0; n < 150; n++)
      ids.push(
        (await provider.createReferral({ mayAlreadyExist: true, credentials, referral: sameHomeowner(n) })).externalId,
      );
    await control.resetStats();

    const again = await provider.createReferral({ mayAlreadyExist: true, credentials, referral: sameHomeowner(0) });
    expect(again).toEqual({ externalId: ids[0], created: false });
    const log = await control.requests({ provider: 'housecallpro' });
    const jobPages = log.filter((r) => r.route === 'GET /jobs').map((r) => new URL(r.path, 'http://x').searchParams);
    expect(jobPages.map((p) => [p.get('customer_id'), p.get('page'), p.get('page_size')])).toEqual([
      [expect.stringMatching(/^cus_/), '1', '100'],
      [expect.stringMatching(/^cus_/), '2', '100'],
    ]);
    expect((await control.housecallProRecords()).jobs).toHaveLength(150);
  });

  describe('batch status reads pick the cheaper strategy', () => {
    let ids: string[];

    beforeEach(async () => {
      ids = await createMany(newProvider(), 450); // 5 pages of 100
      await control.resetStats();
    });

    const read = (externalIds: string[]) =>
      newProvider().getStatuses({
        credentials,
        queries: externalIds.map((externalId) => ({ routingId: externalId, externalId })),
      });

    it('two jobs: one GET /jobs/{id} each', async () => {
      expect(await read(ids.slice(0, 2))).toHaveLength(2);
      expect(await routes()).toEqual({ 'GET /jobs/{id}': 2 });
    });

    it('200 jobs: scan the 5 list pages instead of 200 single reads', async () => {
      const statuses = await read(ids.slice(0, 200));
      expect(statuses).toHaveLength(200);
      expect(await routes()).toEqual({ 'GET /jobs': 5 });
      const log = await control.requests({ provider: 'housecallpro' });
      const params = new URL(log[0].path, 'http://x').searchParams;
      expect([params.get('sort_by'), params.get('sort_direction'), params.get('page_size')]).toEqual([
        'updated_at',
        'desc',
        '100',
      ]);
    });

    it('recently updated jobs: the first page is enough', async () => {
      // The newest jobs sort first by updated_at.
      expect(await read(ids.slice(-50))).toHaveLength(50);
      expect(await routes()).toEqual({ 'GET /jobs': 1 });
    });

    it('three old jobs: one page to learn the size, then single reads', async () => {
      expect(await read(ids.slice(0, 3))).toHaveLength(3);
      expect(await routes()).toEqual({ 'GET /jobs': 1, 'GET /jobs/{id}': 3 });
    });

    it('a job updated while scanning is still read', async () => {
      // Moving an old job to the front between pages would hide it from a pure scan.
      const wanted = ids.slice(0, 100);
      const client = new HousecallProClient(settings);
      const listJobs = client.listJobs.bind(client);
      jest.spyOn(client, 'listJobs').mockImplementation(async (params) => {
        const page = await listJobs(params);
        if (params.page === 1) await control.scheduleHcpJob(ids[1]);
        return page;
      });
      const statuses = await new HousecallProProvider(client).getStatuses({
        credentials,
        queries: wanted.map((externalId) => ({ routingId: externalId, externalId })),
      });
      expect(statuses).toHaveLength(100);
      expect(statuses.find((s) => s.externalId === ids[1])?.status).toBe('scheduled');
      expect(await routes()).toEqual({ 'GET /jobs': 5, 'GET /jobs/{id}': 1 });
    });
  });

  describe('change feed (readChanges): jobs sorted by updated_at desc down to the last mark', () => {
    const day = 86_400_000;
    const iso = (ms: number) => new Date(ms).toISOString();
    const changes = (cursor: string | null, maxRequests = 100) =>
      newProvider().readChanges({ credentials, cursor, maxRequests });

    it('without a cursor reads page 1 only: the mark, incomplete (the caller reads the rest by id)', async () => {
      await control.addHousecallProHistory(credentials.apiKey, 450);
      const ids = await createMany(newProvider(), 3);
      await control.resetStats();
      const first = await changes(null);
      expect(first.complete).toBe(false);
      const newest = (await control.housecallProRecords()).jobs
        .map((j: { updated_at: string }) => j.updated_at)
        .sort()
        .at(-1);
      expect(first.cursor).toBe(newest);
      expect([...first.changes.keys()]).toEqual(expect.arrayContaining(ids));
      expect(await routes()).toEqual({ 'GET /jobs': 1 });
    });

    it('picks up a change after the mark, and stops there whatever the history', async () => {
      for (const history of [450, 4500]) {
        await control.reset();
        await control.registerHousecallProCompany(credentials);
        await control.addHousecallProHistory(credentials.apiKey, history);
        const [a, b] = await createMany(newProvider(), 2);
        const { cursor } = await changes(null);
        await control.scheduleHcpJob(b);
        await control.resetStats();
        const next = await changes(cursor);
        expect(next.complete).toBe(true);
        expect(next.changes.get(b)).toMatchObject({ externalId: b, status: 'scheduled', rawStatus: 'scheduled' });
        expect(next.changes.get(a)?.status).toBe('received'); // within the overlap: read again, unchanged
        expect(next.changes.size).toBe(2);
        expect(Date.parse(next.cursor!)).toBeGreaterThanOrEqual(Date.parse(cursor!));
        expect(await routes()).toEqual({ 'GET /jobs': 1 }); // flat: 450 or 4,500 old jobs cost nothing
      }
    });

    it('re-reads jobs stamped exactly at the mark and within the overlap window, not older ones', async () => {
      const mark = Date.now() - 10 * day;
      await control.addHousecallProHistory(credentials.apiKey, 150, iso(mark)); // equal timestamps, across 2 pages
      await control.addHousecallProHistory(credentials.apiKey, 1, iso(mark - HCP_CHANGES_OVERLAP_MS + 1000));
      await control.addHousecallProHistory(credentials.apiKey, 200, iso(mark - HCP_CHANGES_OVERLAP_MS - 1000));
      await control.resetStats();
      const result = await changes(iso(mark));
      expect(result.complete).toBe(true);
      expect(result.changes.size).toBe(151);
      expect([...result.changes.values()].every((c) => c.status === 'completed')).toBe(true);
      expect(result.cursor).toBe(iso(mark));
      expect(await routes()).toEqual({ 'GET /jobs': 2 });
    });

    it('a scan that would cost more than reading by id stops: incomplete, cursor lost', async () => {
      await control.addHousecallProHistory(credentials.apiKey, 450, iso(Date.now() - 30 * day));
      await control.resetStats();
      const result = await changes(iso(Date.now() - 40 * day), 2);
      expect(result.complete).toBe(false);
      expect(result.changes.size).toBe(200);
      expect(await routes()).toEqual({ 'GET /jobs': 2 });
    });

    it('an empty account keeps the old mark; the end of the list completes the scan', async () => {
      const mark = iso(Date.now() - day);
      expect(await changes(mark)).toEqual({ changes: new Map(), complete: true, cursor: mark });
      expect(await routes()).toEqual({ 'GET /jobs': 1 });
    });
  });
});
