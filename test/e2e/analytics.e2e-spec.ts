import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { Browser, Page, chromium } from 'playwright-core';

import { AnalyticsRollups1765500000000 } from '../../migrations/1765500000000-AnalyticsRollups';
import { bucketMiddleMs, MEDIAN_MAX_ERROR } from '../../src/analytics/duration-histogram';
import { SandboxControl } from '../../src/sandbox/sandbox-control.client';
import { createCompany, createTechnician, housecallProCredentials, jobBody } from '../factories/network.factory';
import { TestApp, flushTestRedis, startTestApp, truncateAll } from '../helpers/app';
import { ApiClient, apiClient, expectProblem } from '../helpers/http';
import { waitFor } from '../helpers/wait';
import { FAST_SYNC_ENV, TEST_ADMIN_KEY } from '../test-env';

// Debian's Chromium, as in browser.e2e-spec.ts.
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = resolve(__dirname, '../artifacts');
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
];

type Referrer = 'R1' | 'R2';
type Partner = 'P1' | 'P2' | 'P3';
type Outcome = 'completed' | 'canceled' | 'permanently_failed' | null;

/** One seeded routing and what it must end as: the expected funnel is computed from these, never written out. */
interface Seeded {
  name: string;
  referrer: Referrer;
  partner: Partner;
  trade: string | null;
  synced: boolean;
  scheduled: boolean;
  inProgress: boolean;
  outcome: Outcome;
  revenue: number;
  routingId?: string;
  jobId?: string;
}

const FUNNEL_FIELDS = [
  'created',
  'synced',
  'scheduled',
  'inProgress',
  'completed',
  'canceled',
  'permanentlyFailed',
  'conversionRate',
  'revenueCents',
  'currency',
  'medianCreatedToSyncedMs',
  'medianSyncedToCompletedMs',
];

describe('Analytics - /api/analytics (funnel, referrers) over routings driven through the sandbox', () => {
  let t: TestApp;
  let admin: ApiClient;
  let sandbox: SandboxControl;
  const company: Record<Referrer | Partner, string> = {} as never;
  const provider: Record<Partner, string> = { P1: 'servicetitan', P2: 'servicetitan', P3: 'housecallpro' };
  const technician: Partial<Record<Referrer, string>> = {};
  const routingsById = new Map<string, any>();
  let unroutedJobId: string;

  // a+b are one job; every other routing has a job of its own.
  const seeded: Seeded[] = [
    {
      name: 'a',
      referrer: 'R1',
      partner: 'P1',
      trade: 'electrical',
      synced: true,
      scheduled: true,
      inProgress: true,
      outcome: 'completed',
      revenue: 12_000,
    },
    {
      name: 'b',
      referrer: 'R1',
      partner: 'P3',
      trade: 'electrical',
      synced: true,
      scheduled: true,
      inProgress: false,
      outcome: 'canceled',
      revenue: 0,
    },
    {
      name: 'c',
      referrer: 'R1',
      partner: 'P2',
      trade: 'electrical',
      synced: true,
      scheduled: true,
      inProgress: true,
      outcome: 'completed',
      revenue: 30_000,
    },
    {
      name: 'd',
      referrer: 'R2',
      partner: 'P1',
      trade: 'electrical',
      synced: false,
      scheduled: false,
      inProgress: false,
      outcome: 'permanently_failed',
      revenue: 0,
    },
    {
      name: 'e',
      referrer: 'R2',
      partner: 'P2',
      trade: 'electrical',
      synced: true,
      scheduled: false,
      inProgress: false,
      outcome: null,
      revenue: 0,
    },
    {
      name: 'f',
      referrer: 'R2',
      partner: 'P3',
      trade: null,
      synced: true,
      scheduled: true,
      inProgress: true,
      outcome: 'completed',
      revenue: 5_000,
    },
    {
      name: 'g',
      referrer: 'R1',
      partner: 'P2',
      trade: 'hvac',
      synced: true,
      scheduled: true,
      inProgress: false,
      outcome: null,
      revenue: 0,
    },
    {
      name: 'h',
      referrer: 'R2',
      partner: 'P1',
      trade: 'electrical',
      synced: true,
      scheduled: true,
      inProgress: true,
      outcome: 'canceled',
      revenue: 0,
    },
  ];
  const byName = (name: string) => seeded.find((s) => s.name === name)!;

  // A day either side of the seeding: every seeded routing, whatever the clock says when a test runs.
  const started = Date.now();
  const range = () => ({
    from: new Date(started - 86_400_000).toISOString(),
    to: new Date(started + 86_400_000).toISOString(),
  });
  const funnel = (query: Record<string, string>, client = admin) =>
    client.get(`/api/analytics/funnel?${new URLSearchParams({ ...range(), ...query })}`);

  const routing = async (id: string) => (await admin.get(`/api/routings/${id}`)).body;
  const waitRouting = (id: string, what: string, ok: (r: any) => boolean) =>
    waitFor(
      async () => {
        const r = await routing(id);
        return ok(r) ? r : null;
      },
      { what: `routing ${id} ${what}`, timeoutMs: 30_000 },
    );

  async function createJob(s: Seeded[], extra: Record<string, unknown> = {}): Promise<void> {
    const referrer = s[0].referrer;
    const res = await admin.post(
      '/api/jobs',
      jobBody(company[referrer], technician[referrer]!, {
        trade: s[0].trade ?? undefined,
        targetCompanyIds: s.map((x) => company[x.partner]),
        ...extra,
      }),
    );
    expect(res.status).toBe(201);
    for (const x of s) {
      const r = res.body.routings.find((r: any) => r.companyId === company[x.partner]);
      x.routingId = r.id;
      x.jobId = res.body.id;
    }
  }

  /** Moves each named routing's provider record, polls, and waits until every routing shows its new status. */
  async function step(moves: Record<string, { action: string; cents?: number; expect: string }>): Promise<void> {
    for (const [name, move] of Object.entries(moves)) {
      const s = byName(name);
      const r = await routing(s.routingId!);
      if (provider[s.partner] === 'servicetitan')
        await sandbox.serviceTitanBookingAction(r.externalId, move.action as never, move.cents);
      else await sandbox.housecallProJobAction(r.externalId, move.action as never, move.cents);
    }
    expect((await admin.post('/api/admin/sweeps/poll/run')).status).toBe(202);
    for (const [name, move] of Object.entries(moves))
      await waitRouting(
        byName(name).routingId!,
        `provider status ${move.expect}`,
        (r) => r.providerStatus === move.expect,
      );
  }

  beforeAll(async () => {
    await flushTestRedis();
    t = await startTestApp({ ...FAST_SYNC_ENV, ARCHIVE_AFTER_DAYS: '90' }, 'all');
    admin = apiClient(t.url, TEST_ADMIN_KEY);
    sandbox = new SandboxControl(t.sandbox.url);
    await truncateAll(t.db);

    for (const r of ['R1', 'R2'] as const) {
      company[r] = (
        await createCompany(admin, { name: `Referrer ${r}`, provider: undefined, trades: ['plumbing'] })
      ).id;
      technician[r] = (await createTechnician(admin, company[r])).id;
    }
    company.P1 = (await createCompany(admin, { name: 'P1 Electric' })).id;
    company.P2 = (await createCompany(admin, { name: 'P2 Electric' })).id;
    company.P3 = (
      await createCompany(admin, {
        name: 'P3 Electric',
        provider: { type: 'housecallpro', credentials: housecallProCredentials() },
      })
    ).id;

    // Permanent failures first, while the faults touch no other routing: d at once (400), g after 3 × 500.
    await sandbox.setFaults('servicetitan', { errorRate: 1, errorStatus: 400 });
    await createJob([byName('d')]);
    await waitRouting(byName('d').routingId!, 'permanently failed', (r) => r.status === 'permanently_failed');
    await sandbox.setFaults('servicetitan', { errorRate: 1, errorStatus: 500 });
    await createJob([byName('g')]);
    await waitRouting(byName('g').routingId!, 'permanently failed', (r) => r.status === 'permanently_failed');
    await sandbox.clearFaults('servicetitan');

    await createJob([byName('a'), byName('b')]);
    for (const name of ['c', 'e', 'f', 'h']) await createJob([byName(name)]);
    // A job no company takes: referred, never routed.
    const unrouted = await admin.post(
      '/api/jobs',
      jobBody(company.R1, technician.R1!, { trade: 'roofing', summary: 'Roof leak' }),
    );
    expect(unrouted.body.status).toBe('unrouted');
    unroutedJobId = unrouted.body.id;
    // g leaves permanently_failed by a manual retry.
    expect((await admin.post(`/api/routings/${byName('g').routingId}/retry`)).status).toBe(202);
    for (const s of seeded.filter((x) => x.synced))
      await waitRouting(s.routingId!, 'synced', (r) => r.status === 'synced');

    await step({
      a: { action: 'schedule', expect: 'scheduled' },
      b: { action: 'schedule', expect: 'scheduled' },
      c: { action: 'complete', cents: 30_000, expect: 'completed' },
      f: { action: 'start', expect: 'in_progress' },
      g: { action: 'schedule', expect: 'scheduled' },
      h: { action: 'schedule', expect: 'scheduled' },
    });
    await step({
      a: { action: 'start', expect: 'in_progress' },
      b: { action: 'cancel', expect: 'canceled' },
      f: { action: 'complete', cents: 5_000, expect: 'completed' },
      h: { action: 'start', expect: 'in_progress' },
    });
    await step({
      a: { action: 'complete', cents: 12_000, expect: 'completed' },
      h: { action: 'cancel', expect: 'canceled' },
    });
    for (const s of seeded) routingsById.set(s.routingId!, await routing(s.routingId!));
  }, 180_000);
  afterAll(() => t?.close());

  /** The funnel the seeded routings must add up to, from their intended outcomes and their API timestamps. */
  async function expectedFunnel(list: Seeded[]) {
    const n = (f: (s: Seeded) => boolean) => list.filter(f).length;
    const synced = n((s) => s.synced);
    const completed = n((s) => s.outcome === 'completed');
    const api = list.map((s) => routingsById.get(s.routingId!));
    const median = async (durations: number[]) => {
      if (!durations.length) return null;
      const lower = [...durations].sort((x, y) => x - y)[Math.ceil(durations.length / 2) - 1];
      const [{ b }] = await t.db.query(`SELECT analytics_bucket($1) AS b`, [lower]);
      const reported = bucketMiddleMs(b);
      expect(Math.abs(reported - lower)).toBeLessThanOrEqual(MEDIAN_MAX_ERROR * (lower + 1) + 0.5);
      return reported;
    };
    const ms = (a: string, b: string) => new Date(b).getTime() - new Date(a).getTime();
    return {
      created: list.length,
      synced,
      scheduled: n((s) => s.scheduled),
      inProgress: n((s) => s.inProgress),
      completed,
      canceled: n((s) => s.outcome === 'canceled'),
      permanentlyFailed: n((s) => s.outcome === 'permanently_failed'),
      conversionRate: synced ? completed / synced : null,
      revenueCents: list.reduce((sum, s) => sum + s.revenue, 0),
      currency: 'USD',
      medianCreatedToSyncedMs: await median(api.filter((r) => r.syncedAt).map((r) => ms(r.createdAt, r.syncedAt))),
      medianSyncedToCompletedMs: await median(
        api.filter((r) => r.status === 'completed').map((r) => ms(r.syncedAt, r.completedAt)),
      ),
    };
  }

  async function expectedGroups(list: Seeded[], keyOf: (s: Seeded) => string) {
    const keys = [...new Set(list.map(keyOf))].sort();
    return Promise.all(
      keys.map(async (key) => ({ key, ...(await expectedFunnel(list.filter((s) => keyOf(s) === key))) })),
    );
  }

  it('the seeded routings ended as intended (status, provider status, revenue)', () => {
    for (const s of seeded) {
      const r = routingsById.get(s.routingId!);
      expect({ name: s.name, status: r.status, revenue: r.revenueCents ?? 0 }).toEqual({
        name: s.name,
        status: s.outcome ?? 'synced',
        revenue: s.revenue,
      });
    }
  });

  describe('GET /api/analytics/funnel', () => {
    it.each([
      ['partner', (s: Seeded) => company[s.partner]],
      ['referrer', (s: Seeded) => company[s.referrer]],
      ['provider', (s: Seeded) => provider[s.partner]],
      ['trade', (s: Seeded) => s.trade ?? 'none'],
      ['day', (s: Seeded) => routingsById.get(s.routingId!).createdAt.slice(0, 10)],
    ])('groupBy=%s: exact counts, rates, revenue and medians per group, and totals', async (groupBy, keyOf) => {
      const res = await funnel({ groupBy });
      expect(res.status).toBe(200);
      expect(res.body.groupBy).toBe(groupBy);
      const groups = res.body.groups.map((g: any) => ({ key: g.key, ...pick(g, FUNNEL_FIELDS) }));
      expect(groups).toEqual(await expectedGroups(seeded, keyOf));
      expect(res.body.totals).toEqual(await expectedFunnel(seeded));
    });

    it('counts the same moves in Prometheus: routing_transitions_total and routing_provider_status_total', async () => {
      const text = await (await fetch(`${t.url}/metrics`)).text();
      const sample = (name: string, labels: string) =>
        Number(new RegExp(`^${name}\\{${labels}\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
      for (const p of ['servicetitan', 'housecallpro']) {
        const mine = seeded.filter((s) => provider[s.partner] === p);
        const n = (f: (s: Seeded) => boolean) => mine.filter(f).length;
        // g was permanently failed once before its manual retry (to pending).
        const g = provider[byName('g').partner] === p ? 1 : 0;
        expect({
          p,
          created: sample('routing_transitions_total', `provider="${p}",to="created"`),
          synced: sample('routing_transitions_total', `provider="${p}",to="synced"`),
          completed: sample('routing_transitions_total', `provider="${p}",to="completed"`),
          canceled: sample('routing_transitions_total', `provider="${p}",to="canceled"`),
          failed: sample('routing_transitions_total', `provider="${p}",to="permanently_failed"`),
          retried: sample('routing_transitions_total', `provider="${p}",to="pending"`),
          inProgress: sample('routing_provider_status_total', `provider="${p}",status="in_progress"`),
        }).toEqual({
          p,
          created: mine.length,
          synced: n((s) => s.synced),
          completed: n((s) => s.outcome === 'completed'),
          canceled: n((s) => s.outcome === 'canceled'),
          failed: n((s) => s.outcome === 'permanently_failed') + g,
          retried: g,
          // Entered in_progress as polled: c went from received straight to completed.
          inProgress: n((s) => s.inProgress && s.name !== 'c'),
        });
      }
    });

    it('names the companies of referrer and partner groups', async () => {
      const res = await funnel({ groupBy: 'partner' });
      expect(Object.fromEntries(res.body.groups.map((g: any) => [g.key, g.name]))).toEqual({
        [company.P1]: 'P1 Electric',
        [company.P2]: 'P2 Electric',
        [company.P3]: 'P3 Electric',
      });
    });

    it('counts only routings created in [from, to)', async () => {
      const createdAts = seeded.map((s) => routingsById.get(s.routingId!).createdAt).sort();
      // From the 4th creation on: exactly the routings created at or after it.
      const from = createdAts[3];
      const inRange = seeded.filter((s) => routingsById.get(s.routingId!).createdAt >= from);
      const res = await admin.get(
        `/api/analytics/funnel?${new URLSearchParams({ from, to: range().to, groupBy: 'provider' })}`,
      );
      expect(res.body.totals).toEqual(await expectedFunnel(inRange));
      const before = await admin.get(
        `/api/analytics/funnel?${new URLSearchParams({ from: range().from, to: from, groupBy: 'provider' })}`,
      );
      expect(before.body.totals.created).toBe(seeded.length - inRange.length);
    });

    it('a company key sees only routings where its company is the referrer or the partner', async () => {
      for (const who of ['P1', 'R1'] as const) {
        const key = (await admin.post('/api/api-keys', { name: who, role: 'company', companyId: company[who] })).body
          .key;
        const mine = seeded.filter((s) => s.partner === who || s.referrer === who);
        const res = await funnel({ groupBy: 'partner' }, apiClient(t.url, key));
        expect(res.status).toBe(200);
        expect(res.body.totals).toEqual(await expectedFunnel(mine));
        expect(res.body.groups.map((g: any) => pick(g, ['key', ...FUNNEL_FIELDS]))).toEqual(
          await expectedGroups(mine, (s) => company[s.partner]),
        );
        // companyId narrows the same way for an admin; another company's id is forbidden to the key.
        expect((await funnel({ groupBy: 'partner', companyId: company[who] })).body.totals).toEqual(res.body.totals);
        expectProblem(await funnel({ groupBy: 'day', companyId: company.R2 }, apiClient(t.url, key)), 403);
      }
    });

    it('is documented in the OpenAPI document: parameters and response schemas', async () => {
      const doc = (await admin.get('/api/docs-json')).body;
      const op = doc.paths['/api/analytics/funnel'].get;
      expect(
        Object.fromEntries(op.parameters.map((p: any) => [p.name, { in: p.in, required: p.required ?? false }])),
      ).toEqual({
        from: { in: 'query', required: true },
        to: { in: 'query', required: true },
        groupBy: { in: 'query', required: true },
        companyId: { in: 'query', required: false },
      });
      expect(op.responses['200'].content['application/json'].schema.$ref).toBe('#/components/schemas/FunnelResponse');
      const schemas = doc.components.schemas;
      expect(Object.keys(schemas.Funnel.properties).sort()).toEqual([...FUNNEL_FIELDS].sort());
      expect(
        schemas.FunnelResponse.properties.totals.allOf?.[0]?.$ref ?? schemas.FunnelResponse.properties.totals.$ref,
      ).toBe('#/components/schemas/Funnel');
      expect(schemas.FunnelGroup.properties.key).toBeDefined();
      const referrers = doc.paths['/api/analytics/referrers/{companyId}'].get;
      expect(referrers.responses['200'].content['application/json'].schema.$ref).toBe(
        '#/components/schemas/ReferrerMonthsResponse',
      );
      expect(Object.keys(schemas.ReferrerMonth.properties).sort()).toEqual([
        'jobsCompleted',
        'jobsReferred',
        'month',
        'revenueCents',
      ]);
    });

    it('an unknown companyId is 422 naming it', async () => {
      expectProblem(
        await funnel({ groupBy: 'day', companyId: '00000000-0000-4000-8000-000000000000' }),
        422,
        'companyId',
      );
    });

    it.each([
      ['reversed', { from: '2025-03-01', to: '2025-02-01' }, 'to'],
      ['empty', { from: '2025-03-01', to: '2025-03-01' }, 'to'],
      ['more than 400 days', { from: '2024-01-01', to: '2025-02-05' }, 'to'],
      ['malformed from', { from: 'yesterday', to: '2025-02-01' }, 'from'],
      ['30 February', { from: '2025-02-30', to: '2025-04-01' }, 'from'],
      ['a time without a zone', { from: '2025-01-01T10:00:00', to: '2025-02-01' }, 'from'],
      ['missing to', { from: '2025-01-01' }, 'to'],
    ])('a bad range (%s) is 400 problem+json naming the field', async (_, query, field) => {
      const res = await admin.get(`/api/analytics/funnel?${new URLSearchParams({ groupBy: 'day', ...query })}`);
      expectProblem(res, 400, field);
    });

    it('400 for a bad groupBy or companyId, 401 without a key', async () => {
      expectProblem(await funnel({ groupBy: 'week' }), 400, 'groupBy');
      expectProblem(await admin.get(`/api/analytics/funnel?${new URLSearchParams(range())}`), 400, 'groupBy');
      expectProblem(await funnel({ groupBy: 'day', companyId: 'nope' }), 400, 'companyId');
      expectProblem(await funnel({ groupBy: 'day' }, apiClient(t.url)), 401);
    });

    it('exactly 400 days is allowed', async () => {
      expect((await admin.get('/api/analytics/funnel?from=2024-01-01&to=2025-02-04&groupBy=day')).status).toBe(200);
    });
  });

  describe('GET /api/analytics/referrers/:companyId', () => {
    const monthsRange = () => {
      const now = new Date();
      const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
      const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
      return { from: from.toISOString(), to: to.toISOString(), last: from.toISOString().slice(0, 7) };
    };

    /** Jobs, completed jobs and revenue of a referrer, from its jobs as the API shows them. */
    async function expectedMonths(referrer: Referrer) {
      const jobIds = [
        ...new Set([
          ...seeded.filter((s) => s.referrer === referrer).map((s) => s.jobId!),
          ...(referrer === 'R1' ? [unroutedJobId] : []),
        ]),
      ];
      const jobs = await Promise.all(jobIds.map(async (id) => (await admin.get(`/api/jobs/${id}`)).body));
      const completed = jobs.filter((j) => j.status === 'completed');
      const { from, last } = monthsRange();
      return [
        { month: last, jobsReferred: 0, jobsCompleted: 0, revenueCents: 0 },
        {
          month: new Date(new Date(from).setUTCMonth(new Date(from).getUTCMonth() + 1)).toISOString().slice(0, 7),
          jobsReferred: jobs.length,
          jobsCompleted: completed.length,
          revenueCents: completed.reduce((sum, j) => sum + j.revenueCents, 0),
        },
      ];
    }

    it('counts jobs referred (routed or not), completed and their revenue by month of job creation', async () => {
      const { from, to } = monthsRange();
      for (const referrer of ['R1', 'R2'] as const) {
        const res = await admin.get(
          `/api/analytics/referrers/${company[referrer]}?${new URLSearchParams({ from, to })}`,
        );
        expect(res.status).toBe(200);
        expect(res.body).toEqual({
          companyId: company[referrer],
          currency: 'USD',
          months: await expectedMonths(referrer),
        });
      }
      // Independently of the jobs API: R1 referred 4 jobs (one unrouted), 2 of them completed (12,000 + 30,000).
      const r1 = await admin.get(`/api/analytics/referrers/${company.R1}?${new URLSearchParams({ from, to })}`);
      expect(r1.body.months[1]).toMatchObject({ jobsReferred: 4, jobsCompleted: 2, revenueCents: 42_000 });
    });

    it('a company key reads its own months only; unknown company 404; bad range 400', async () => {
      const { from, to } = monthsRange();
      const key = (await admin.post('/api/api-keys', { name: 'r2', role: 'company', companyId: company.R2 })).body.key;
      const r2 = apiClient(t.url, key);
      expect((await r2.get(`/api/analytics/referrers/${company.R2}?${new URLSearchParams({ from, to })}`)).status).toBe(
        200,
      );
      expectProblem(await r2.get(`/api/analytics/referrers/${company.R1}?${new URLSearchParams({ from, to })}`), 403);
      expectProblem(
        await admin.get(
          `/api/analytics/referrers/00000000-0000-4000-8000-000000000000?${new URLSearchParams({ from, to })}`,
        ),
        404,
      );
      expectProblem(await admin.get(`/api/analytics/referrers/${company.R1}?from=${to}&to=${from}`), 400, 'to');
      expectProblem(await admin.get(`/api/analytics/referrers/not-a-uuid?from=${from}&to=${to}`), 400, 'companyId');
    });
  });

  describe('rollups', () => {
    const snapshot = async () => ({
      facts: await t.db.query(`SELECT * FROM analytics_routings ORDER BY routing_id`),
      rollups: await t.db.query(`SELECT * FROM analytics_rollups ORDER BY dim, grain, period, key`),
    });

    it('kept change by change, they equal a rebuild from the routings and their events (the migration backfill)', async () => {
      const live = await snapshot();
      expect(live.facts).toHaveLength(seeded.length);
      await rerunMigration();
      const rebuilt = await snapshot();
      // The backfill reads the first sync from the status_change event, the live path from the routing: same instant.
      expect(rebuilt).toEqual(live);
    });

    it('survive cleanup: archived jobs keep counting in the funnel and the referrer months', async () => {
      const before = {
        partner: (await funnel({ groupBy: 'partner' })).body,
        day: (await funnel({ groupBy: 'day' })).body,
        r1: (await admin.get(`/api/analytics/referrers/${company.R1}?from=${range().from}&to=${range().to}`)).body,
      };
      // Finished 100 days ago as far as cleanup can tell: every completed or canceled job is archived.
      await t.db.query(`UPDATE jobs SET finished_at = now() - interval '100 days' WHERE finished_at IS NOT NULL`);
      const finished = (await t.db.query(`SELECT count(*)::int AS n FROM jobs WHERE finished_at IS NOT NULL`))[0].n;
      expect(finished).toBeGreaterThanOrEqual(4);
      expect((await admin.post('/api/admin/sweeps/cleanup/run')).status).toBe(202);
      await waitFor(async () => (await t.db.query(`SELECT count(*)::int AS n FROM archived_jobs`))[0].n === finished, {
        what: 'archive',
      });
      expect((await t.db.query(`SELECT count(*)::int AS n FROM jobs WHERE finished_at IS NOT NULL`))[0].n).toBe(0);

      expect((await funnel({ groupBy: 'partner' })).body).toEqual(before.partner);
      expect((await funnel({ groupBy: 'day' })).body).toEqual(before.day);
      expect(
        (await admin.get(`/api/analytics/referrers/${company.R1}?from=${range().from}&to=${range().to}`)).body,
      ).toEqual(before.r1);
      // And a rebuild from the archive tables finds the same.
      const live = await snapshot();
      await rerunMigration();
      expect(await snapshot()).toEqual(live);
    });
  });

  describe('/admin/analytics - the page in Chromium', () => {
    let browser: Browser;
    const pageErrors: string[] = [];

    beforeAll(async () => {
      if (!existsSync(CHROMIUM)) throw new Error(`Chromium is missing at ${CHROMIUM}: apt-get install -y chromium`);
      mkdirSync(ARTIFACTS, { recursive: true });
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
        timeout: 30_000,
      });
    });
    afterAll(() => browser?.close());

    /** A context that reaches only the app under test: the page must work offline. */
    async function open(credentials?: { username: string; password: string }): Promise<Page> {
      const context = await browser.newContext({
        viewport: { width: 1280, height: 1100 },
        httpCredentials: credentials,
      });
      await context.route('**/*', (route) =>
        new URL(route.request().url()).host === new URL(t.url).host ? route.continue() : route.abort(),
      );
      const page = await context.newPage();
      page.on('pageerror', (error) => pageErrors.push(error.message));
      page.on('requestfailed', (request) => pageErrors.push(`request failed: ${request.url()}`));
      return page;
    }

    const chartData = (page: Page) =>
      page.evaluate(() => {
        const data = (id: string) => {
          // Runs in the page: the browser's globals.
          const page = globalThis as any;
          const chart = page.Chart.getChart(page.document.getElementById(id));
          return { labels: chart.data.labels, values: chart.data.datasets[0].data };
        };
        return { funnel: data('funnel-chart'), revenue: data('revenue-chart'), partners: data('partners-chart') };
      });

    it('draws the funnel, revenue by month and top partners by conversion from the seeded network', async () => {
      const page = await open({ username: 'ops', password: TEST_ADMIN_KEY });
      const response = await page.goto(`${t.url}/admin/analytics`, { waitUntil: 'domcontentloaded' });
      expect(response?.status()).toBe(200);
      await page.locator('body[data-state="ready"]').waitFor({ timeout: 20_000 });

      // The same numbers as the API gives for the range the page shows.
      const range = await page.evaluate(() => (globalThis as any).analyticsData.range);
      const api = async (groupBy: string) =>
        (await admin.get(`/api/analytics/funnel?${new URLSearchParams({ ...range, groupBy })}`)).body;
      const [byDay, byPartner] = [await api('day'), await api('partner')];
      const expected = await expectedFunnel(seeded);
      expect(byDay.totals).toEqual(expected);

      const charts = await chartData(page);
      expect(charts.funnel).toEqual({
        labels: ['Created', 'Synced', 'Scheduled', 'In progress', 'Completed', 'Canceled', 'Permanently failed'],
        values: [
          expected.created,
          expected.synced,
          expected.scheduled,
          expected.inProgress,
          expected.completed,
          expected.canceled,
          expected.permanentlyFailed,
        ],
      });
      const month = routingsById.get(seeded[0].routingId!).createdAt.slice(0, 7);
      expect(charts.revenue).toEqual({ labels: [month], values: [expected.revenueCents / 100] });
      const partners = [...byPartner.groups].sort(
        (a: any, b: any) => b.conversionRate - a.conversionRate || b.completed - a.completed,
      );
      expect(charts.partners).toEqual({
        labels: partners.map((g: any) => g.name),
        values: partners.map((g: any) => +(g.conversionRate * 100).toFixed(1)),
      });
      await expect(page.locator('#kpi-revenue').innerText()).resolves.toBe('$470.00');
      await expect(page.locator('#partners-table tbody tr').count()).resolves.toBe(3);
      await page.screenshot({ path: join(ARTIFACTS, 'analytics-page.png'), fullPage: true });

      // The date-range picker: a range before the network existed shows nothing; one too long says why.
      await page.fill('#from', '2020-01-01');
      await page.fill('#to', '2020-03-31');
      await page.click('#range button[type="submit"]');
      await page.locator('body[data-state="ready"]').waitFor();
      await expect(page.locator('#kpi-created').innerText()).resolves.toBe('0');
      expect((await chartData(page)).funnel.values).toEqual([0, 0, 0, 0, 0, 0, 0]);
      await page.fill('#to', '2021-12-31');
      await page.click('#range button[type="submit"]');
      await page.locator('body[data-state="error"]').waitFor();
      await expect(page.locator('#error').innerText()).resolves.toContain('at most 400 days');
      await page.screenshot({ path: join(ARTIFACTS, 'analytics-page-range-error.png') });
      await page.click('.presets button[data-days="30"]');
      await page.locator('body[data-state="ready"]').waitFor();
      expect((await chartData(page)).funnel.values[0]).toBe(expected.created);

      await page.context().close();
      expect(pageErrors).toEqual([]);
    });

    it('asks for the admin key: 401 with a Basic challenge, 403 for a company key', async () => {
      const anonymous = await fetch(`${t.url}/admin/analytics`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic /);
      const key = (await admin.post('/api/api-keys', { name: 'p1', role: 'company', companyId: company.P1 })).body.key;
      for (const path of ['/admin/analytics', '/admin/analytics/data/funnel?from=2025-01-01&to=2025-02-01&groupBy=day'])
        expect((await fetch(`${t.url}${path}`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(403);
      const data = await fetch(`${t.url}/admin/analytics/data/funnel?from=2025-02-01&to=2025-01-01&groupBy=day`, {
        headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
      });
      expect(data.status).toBe(400);
      expect(data.headers.get('content-type')).toContain('application/problem+json');
      expect(((await data.json()) as any).errors).toEqual([{ field: 'to', message: 'must be after from' }]);
      const asset = await fetch(`${t.url}/admin/analytics/assets/chart.umd.min.js`, {
        headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
      });
      expect(asset.status).toBe(200);
      expect((await asset.text()).length).toBeGreaterThan(100_000);
    });
  });

  describe('over 13 months (history backfilled by the migration)', () => {
    const BASE = Date.UTC(2024, 10, 1); // 2024-11-01
    const DAY = 86_400_000;

    beforeAll(async () => {
      await truncateAll(t.db);
      // 40 companies, 3,000 jobs over 395 days with 1 or 2 routings each in every state, a tenth archived.
      await t.db.query(`
        INSERT INTO companies (id, name)
        SELECT ('00000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, 'Company ' || g FROM generate_series(1, 40) g`);
      await t.db.query(`
        INSERT INTO technicians (company_id, first_name, last_name) SELECT id, 'T', 'T' FROM companies`);
      await t.db.query(
        `INSERT INTO jobs (id, status, company_id, technician_id, homeowner, address, summary, trade, created_at)
         SELECT ('10000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, 'open', t.company_id, t.id,
                '{"firstName":"A","lastName":"B","phone":null,"email":"a@b.example"}',
                '{"street":"1 Main St","unit":null,"city":"Austin","state":"TX","zip":"78701","country":"US"}',
                'seed', (ARRAY['electrical', 'plumbing', NULL])[1 + i % 3],
                to_timestamp($1 / 1000.0) + ((i * 7919) % (395 * 86400)) * interval '1 second' + (i % 1000) * interval '1 ms'
           FROM generate_series(1, 3000) i
           JOIN technicians t ON t.company_id = ('00000000-0000-4000-8000-' || lpad((1 + i % 13)::text, 12, '0'))::uuid`,
        [BASE],
      );
      await t.db.query(`
        WITH plan AS (
          SELECT j.id AS job_id, j.created_at, n, (abs(hashtext(j.id::text || n)) % 8) AS k,
                 ('00000000-0000-4000-8000-' || lpad((14 + (abs(hashtext(j.id::text)) + n) % 27)::text, 12, '0'))::uuid AS company_id
            FROM jobs j CROSS JOIN generate_series(0, 1) n
           WHERE n = 0 OR abs(hashtext(j.id::text)) % 3 = 0)
        INSERT INTO routings (job_id, company_id, provider_type, status, provider_status, synced_at, completed_at,
                              revenue_cents, created_at, status_changed_at)
        SELECT job_id, company_id, (ARRAY['servicetitan', 'housecallpro', 'jobber'])[1 + k % 3],
               (ARRAY['pending', 'failed', 'permanently_failed', 'synced', 'synced', 'completed', 'canceled', 'completed'])[1 + k],
               (ARRAY[NULL, NULL, NULL, 'received', 'scheduled', 'completed', 'canceled', 'completed'])[1 + k],
               CASE WHEN k >= 3 THEN created_at + (50 + abs(hashtext(job_id::text || 's')) % 5000) * interval '1 ms' END,
               CASE WHEN k IN (5, 7) THEN created_at + (1 + abs(hashtext(job_id::text || 'c')) % 900000) * interval '1 s' END,
               CASE WHEN k IN (5, 7) THEN 1000 + abs(hashtext(job_id::text || 'r')) % 90000 END,
               created_at, created_at + interval '1 hour'
          FROM plan`);
      // History the routing row no longer shows: canceled ones went through in_progress, some synced ones too.
      await t.db.query(`
        INSERT INTO routing_events (routing_id, at, type, outcome)
        SELECT id, synced_at, 'status_change', 'synced' FROM routings WHERE synced_at IS NOT NULL
        UNION ALL
        SELECT id, synced_at + interval '1 hour', 'poll', 'in_progress' FROM routings
         WHERE status = 'canceled' OR (status = 'synced' AND abs(hashtext(id::text)) % 4 = 0)`);
      await t.db.query(`
        UPDATE jobs j SET status = a.status, finished_at = CASE WHEN a.status <> 'open' THEN now() END
          FROM (SELECT job_id, CASE WHEN bool_or(status = 'completed') THEN 'completed'
                                    WHEN bool_and(status IN ('canceled', 'permanently_failed')) THEN 'canceled'
                                    ELSE 'open' END AS status FROM routings GROUP BY job_id) a
         WHERE a.job_id = j.id`);
      // A tenth of the finished jobs archived, as cleanup does.
      const archived = `SELECT id FROM jobs WHERE finished_at IS NOT NULL AND abs(hashtext(id::text)) % 10 = 0`;
      for (const table of ['jobs', 'routings', 'routing_events']) {
        const where =
          table === 'jobs'
            ? `id IN (${archived})`
            : table === 'routings'
              ? `job_id IN (${archived})`
              : `routing_id IN (SELECT id FROM routings WHERE job_id IN (${archived}))`;
        const columns = (
          await t.db.query(
            `SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position) AS c
               FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1`,
            [table],
          )
        )[0].c;
        await t.db.query(`INSERT INTO archived_${table} (${columns}) SELECT ${columns} FROM ${table} WHERE ${where}`);
      }
      await t.db.query(`DELETE FROM jobs WHERE id IN (SELECT id FROM archived_jobs)`);
      await rerunMigration();
    });

    /** The funnel straight from the per-routing facts: one scan, medians by percentile_disc over buckets. */
    async function fromFacts(groupBy: string, from: Date, to: Date) {
      const key = {
        referrer: 'referrer_id::text',
        partner: 'partner_id::text',
        provider: 'provider',
        trade: 'trade',
        day: `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
      }[groupBy];
      const rows = await t.db.query(
        `SELECT ${key} AS key, count(*)::int AS created, count(synced_at)::int AS synced,
                count(*) FILTER (WHERE reached_scheduled)::int AS scheduled,
                count(*) FILTER (WHERE reached_in_progress)::int AS "inProgress",
                count(*) FILTER (WHERE outcome = 'completed')::int AS completed,
                count(*) FILTER (WHERE outcome = 'canceled')::int AS canceled,
                count(*) FILTER (WHERE outcome = 'permanently_failed')::int AS "permanentlyFailed",
                COALESCE(sum(revenue_cents) FILTER (WHERE outcome = 'completed'), 0)::int AS "revenueCents",
                percentile_disc(0.5) WITHIN GROUP (ORDER BY synced_bucket) AS sb,
                percentile_disc(0.5) WITHIN GROUP (ORDER BY completed_bucket) FILTER (WHERE outcome = 'completed') AS cb
           FROM analytics_routings WHERE created_at >= $1 AND created_at < $2
          GROUP BY ROLLUP (1) ORDER BY 1`,
        [from, to],
      );
      const funnelOf = ({ key: _, sb, cb, ...r }: any) => ({
        ...r,
        conversionRate: r.synced ? r.completed / r.synced : null,
        currency: 'USD',
        medianCreatedToSyncedMs: sb === null ? null : bucketMiddleMs(sb),
        medianSyncedToCompletedMs: cb === null ? null : bucketMiddleMs(cb),
      });
      const totals = rows.find((r: any) => r.key === null);
      return {
        groups: rows.filter((r: any) => r.key !== null).map((r: any) => ({ key: r.key, ...funnelOf(r) })),
        totals: totals ? funnelOf(totals) : null,
      };
    }

    const at = (days: number) => new Date(BASE + days * DAY);
    it.each([
      ['all 395 days, aligned to months', at(0), new Date(Date.UTC(2025, 11, 1))],
      ['part days and part months at both ends', new Date(BASE + 3.5 * DAY + 1234), new Date(BASE + 200.25 * DAY)],
      ['400 days from mid-month', at(-20), at(380)],
      ['one month and a half', at(45.9), at(91.1)],
      ['within one day', new Date(BASE + 100 * DAY + 3_600_000), new Date(BASE + 100 * DAY + 20 * 3_600_000)],
      ['whole days inside one month', at(31), at(40)],
    ])('%s: every grouping equals the funnel computed from the facts', async (_, from, to) => {
      const facts = await fromFacts('provider', from, to);
      expect(facts.totals?.created).toBeGreaterThan(0);
      for (const groupBy of ['referrer', 'partner', 'provider', 'trade', 'day']) {
        const res = await admin.get(
          `/api/analytics/funnel?${new URLSearchParams({ from: from.toISOString(), to: to.toISOString(), groupBy })}`,
        );
        expect(res.status).toBe(200);
        const expected = await fromFacts(groupBy, from, to);
        expect({ groupBy, groups: res.body.groups.map(({ name: _, ...g }: any) => g) }).toEqual({
          groupBy,
          groups: expected.groups,
        });
        expect({ groupBy, totals: res.body.totals }).toEqual({ groupBy, totals: expected.totals });
      }
    });

    it('backfilled what the events tell: first sync, and in progress before a cancel', async () => {
      const [r] = await t.db.query(`
        SELECT count(*) FILTER (WHERE outcome = 'canceled' AND NOT reached_in_progress)::int AS canceled_not_in_progress,
               count(*) FILTER (WHERE synced_at IS NULL AND outcome IN ('completed', 'canceled'))::int AS finished_unsynced,
               (SELECT count(*)::int FROM analytics_routings) - (SELECT count(*)::int FROM routings)
                 - (SELECT count(*)::int FROM archived_routings) AS missing
          FROM analytics_routings`);
      expect(r).toEqual({ canceled_not_in_progress: 0, finished_unsynced: 0, missing: 0 });
      expect((await t.db.query(`SELECT count(*)::int AS n FROM archived_routings`))[0].n).toBeGreaterThan(50);
    });
  });

  /** The analytics migration's down and up on the test database: drops the rollups and backfills them anew. */
  async function rerunMigration(): Promise<void> {
    const runner = t.db.createQueryRunner();
    await runner.startTransaction();
    try {
      const migration = new AnalyticsRollups1765500000000();
      await migration.down(runner);
      await migration.up(runner);
      await runner.commitTransaction();
    } catch (error) {
      await runner.rollbackTransaction();
      throw error;
    } finally {
      await runner.release();
    }
  }
});

function pick(o: Record<string, unknown>, keys: string[]) {
  return Object.fromEntries(keys.map((k) => [k, o[k]]));
}
