/**
 * bench:poll: provider requests per 1,000 routings polled, per provider.
 *
 * Seeds, through the API and the real sync, 1,000 synced routings of one ServiceTitan company, 1,000 of one
 * Housecall Pro company (which also has BENCH_HCP_HISTORY = 20,000 old finished jobs no routing tracks, added
 * through the sandbox control API) and 1,000 of one Jobber company (connected through the OAuth flow).
 * Pass 0 is the first poll after the sync (Housecall Pro has no cursor yet: its per-id fallback). Then the sandbox
 * records move through their lifecycle (per 10 records: 5 completed with an invoice total, 1 canceled/archived,
 * 2 in progress, 1 scheduled, 1 untouched). Before each pass sandbox stats are reset and the poll sweep is run
 * (POST /api/admin/sweeps/poll/run, admin key) until every synced routing was polled and the poll queue is idle.
 * Pass 1 is the first poll after the lifecycle; pass 2 polls again with nothing changed at the provider (the
 * steady state: only the 40% still open are polled); pass 3 is pass 2 again after the Housecall Pro company's
 * history doubled (another BENCH_HCP_HISTORY old jobs): its requests ÷ pass 2's is the growth with history.
 * Processes: sandbox, API, worker from dist/ (POLL_BATCH_SIZE and POLL_CONCURRENCY at their defaults, 100 and 2);
 * database tradeengage_bench_poll (fresh), Redis db 15 or BENCH_REDIS_URL (flushed).
 *
 * Env: BENCH_ROUTINGS (per provider, 1000), BENCH_HCP_HISTORY (20000), BENCH_JOBBER=0 (leave Jobber out),
 * BENCH_REDIS_URL.
 */
import {
  Api,
  Harness,
  assertBuilt,
  createNetwork,
  dbUrl,
  flushRedis,
  fmt,
  header,
  jobBody,
  machineLine,
  mapLimit,
  pgClient,
  recreateDatabase,
  serviceEnv,
  waitUntil,
} from './lib/harness';
import type { ProviderStats } from '../../src/sandbox/sandbox-control.client';
import { reportResult } from './lib/results';

/** A company connected to a new Jobber account through the OAuth flow (the sandbox approves). Returns its id. */
async function connectJobber(api: Api, serviceUrl: string): Promise<string> {
  const company = await api.expect('POST', '/api/companies', 201, {
    name: 'poll Jobber electric',
    trades: ['electrical'],
  });
  const { authorizeUrl } = await api.expect('POST', `/api/companies/${company.id}/connections/jobber/authorize`, 200);
  const approval = await fetch(authorizeUrl as string, { redirect: 'manual' });
  const location = new URL(approval.headers.get('location') ?? '');
  const callback = await fetch(`${serviceUrl}${location.pathname}${location.search}`);
  if (callback.status !== 200) throw new Error(`Jobber connect failed: ${callback.status} ${await callback.text()}`);
  return company.id as string;
}

const PER_PROVIDER = Number(process.env.BENCH_ROUTINGS ?? 1000);
const POLL_BATCH_SIZE = 100; // the service default, stated here for the lower-bound arithmetic
const ST_IDS = 50; // ServiceTitan ids filter maximum
const HCP_PAGE = 100; // the client's page_size
const DB = 'tradeengage_bench_poll';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/15';
const HCP_HISTORY = Number(process.env.BENCH_HCP_HISTORY ?? 20_000);
const WITH_JOBBER = process.env.BENCH_JOBBER !== '0';

type Provider = 'servicetitan' | 'housecallpro' | 'jobber';
const PROVIDERS: Provider[] = WITH_JOBBER
  ? ['servicetitan', 'housecallpro', 'jobber']
  : ['servicetitan', 'housecallpro'];

function lifecycleAction(
  i: number,
): { action: 'complete' | 'cancel' | 'archive' | 'start' | 'schedule'; cents?: number } | null {
  const k = i % 10;
  if (k < 5) return { action: 'complete', cents: 15_000 + i };
  if (k === 5) return { action: 'cancel' };
  if (k < 8) return { action: 'start' };
  if (k === 8) return { action: 'schedule' };
  return null;
}

async function main(): Promise<void> {
  assertBuilt();
  const h = new Harness('poll');
  const databaseUrl = dbUrl(DB);
  try {
    console.log(`poll: ${PER_PROVIDER} routings per provider; ${machineLine()}; logs in ${h.logDir}`);
    await recreateDatabase(DB);
    await h.migrate(databaseUrl);
    await flushRedis(REDIS_URL);
    const sandbox = await h.startSandbox();
    // Counting poll requests, not pacing syncs: Jobber's own limits (2,500 requests per 300 s, the query-cost budget)
    // would make the seed a throttling bench, and every provider's syncs wait behind Jobber's in the one sync queue.
    await sandbox.control.setLimits('jobber', { window: { requests: 100_000_000, seconds: 300 } });
    await sandbox.control.setJobberSettings({ maximumAvailable: 100_000_000, restoreRate: 10_000_000 });
    const common = {
      databaseUrl,
      redisUrl: REDIS_URL,
      sandboxUrl: sandbox.url,
      extra: {
        JOBBER_API_URL: sandbox.url,
        JOBBER_CLIENT_ID: 'sandbox-jobber-client-id',
        JOBBER_CLIENT_SECRET: 'sandbox-jobber-client-secret',
      },
    };
    const apiProc = await h.startService('api', serviceEnv({ mode: 'api', ...common }));
    const worker = await h.startService('worker', serviceEnv({ mode: 'worker', ...common }));
    if (WITH_JOBBER) await sandbox.control.setJobberSettings({ authorize: { approve: true, accountId: null } });
    console.log(`sandbox pid ${sandbox.pid}, api pid ${apiProc.pid}, worker pid ${worker.pid}`);
    const api = new Api(apiProc.url);
    const network = await createNetwork(api, { st: true, hcp: true }, 'poll');
    const companyOf: Record<Provider, string> = {
      servicetitan: network.st!.id,
      housecallpro: network.hcp!.id,
      jobber: WITH_JOBBER ? await connectJobber(api, apiProc.url) : '',
    };
    await sandbox.control.addHousecallProHistory(network.hcp!.apiKey, HCP_HISTORY);
    let hcpHistory = HCP_HISTORY;

    // ---- Seed: create the jobs, let them sync.
    const seedStart = Date.now();
    const statuses = await mapLimit(
      Array.from({ length: PER_PROVIDER * PROVIDERS.length }, (_, i) => i),
      8,
      async (i) =>
        (await api.post('/api/jobs', jobBody(network, companyOf[PROVIDERS[i % PROVIDERS.length]], i))).status,
    );
    if (statuses.some((s) => s !== 201))
      throw new Error(`some POST /api/jobs failed: ${statuses.filter((s) => s !== 201).length}`);
    const db = await pgClient(databaseUrl);
    await waitUntil(
      'all routings synced',
      async () =>
        (await db.query(`SELECT count(*)::int AS n FROM routings WHERE status = 'synced'`)).rows[0].n ===
        PER_PROVIDER * PROVIDERS.length,
      300_000,
    );
    console.log(
      `seeded ${PER_PROVIDER * PROVIDERS.length} synced routings in ${fmt((Date.now() - seedStart) / 1000)} s`,
    );
    const jobberAccount = WITH_JOBBER ? (await sandbox.control.jobberAccounts())[0]?.id : undefined;

    // ---- Poll passes.
    const pass = async (label: string) => {
      const { rows: due } = await db.query(
        `SELECT provider_type, count(*)::int AS n FROM routings WHERE status = 'synced' GROUP BY provider_type`,
      );
      const dueBy = Object.fromEntries(
        due.map((r: { provider_type: Provider; n: number }) => [r.provider_type, r.n]),
      ) as Record<Provider, number>;
      const expected = due.reduce((n: number, r: { n: number }) => n + r.n, 0);
      await sandbox.control.resetStats();
      const pointsBefore = jobberAccount ? (await sandbox.control.jobberAccount(jobberAccount)).pointsSpent : 0;
      const passStart = new Date();
      const started = Date.now();
      await api.expect('POST', '/api/admin/sweeps/poll/run', 202);
      await waitUntil(
        `${label}: every synced routing polled and the queues idle`,
        async () => {
          const { rows } = await db.query(`SELECT count(*)::int AS n FROM routings WHERE last_polled_at >= $1`, [
            passStart,
          ]);
          if (rows[0].n < expected) return false;
          const queues: { name: string; waiting: number; active: number; delayed: number; prioritized: number }[] =
            await api.expect('GET', '/api/admin/queues', 200);
          return queues.every((q) => q.waiting + q.active + q.delayed + q.prioritized === 0);
        },
        300_000,
        100,
      );
      const seconds = (Date.now() - started) / 1000;
      const stats = await sandbox.control.stats();
      const jobberPoints = jobberAccount
        ? (await sandbox.control.jobberAccount(jobberAccount)).pointsSpent - pointsBefore
        : 0;
      const after = await db.query(
        `SELECT provider_type, status, count(*)::int AS n FROM routings GROUP BY 1, 2 ORDER BY 1, 2`,
      );
      return {
        label,
        dueBy,
        seconds,
        stats,
        jobberPoints,
        hcpHistory,
        after: after.rows as { provider_type: string; status: string; n: number }[],
      };
    };
    const pass0 = await pass('pass 0 (first poll after the sync; Housecall Pro without a cursor: per-id fallback)');

    // ---- Lifecycle at the provider.
    const plan: Record<Provider, Record<string, number>> = { servicetitan: {}, housecallpro: {}, jobber: {} };
    for (const provider of PROVIDERS) {
      const { rows } = await db.query(
        `SELECT external_id FROM routings WHERE company_id = $1 ORDER BY created_at, id`,
        [companyOf[provider]],
      );
      await mapLimit(rows, 16, async (row: { external_id: string }, i) => {
        const step = lifecycleAction(i);
        plan[provider][step?.action ?? 'untouched'] = (plan[provider][step?.action ?? 'untouched'] ?? 0) + 1;
        if (!step) return;
        if (provider === 'servicetitan')
          await sandbox.control.serviceTitanBookingAction(
            row.external_id,
            step.action as 'complete' | 'cancel' | 'start' | 'schedule',
            step.cents,
          );
        else if (provider === 'housecallpro')
          await sandbox.control.housecallProJobAction(
            row.external_id,
            step.action as 'complete' | 'cancel' | 'start' | 'schedule',
            step.cents,
          );
        else
          await sandbox.control.jobberRequestAction(
            row.external_id,
            step.action === 'cancel' ? 'archive' : (step.action as 'complete' | 'start' | 'schedule'),
            step.cents,
          );
      });
    }
    console.log(`lifecycle applied: ${JSON.stringify(plan)}`);

    const pass1 = await pass('pass 1 (first poll after the lifecycle)');
    const pass2 = await pass('pass 2 (nothing changed since pass 1)');
    await sandbox.control.addHousecallProHistory(network.hcp!.apiKey, HCP_HISTORY);
    hcpHistory += HCP_HISTORY;
    const pass3 = await pass(`pass 3 (nothing changed; the Housecall Pro history doubled to ${hcpHistory} old jobs)`);
    await db.end();

    // ---- Lower bounds with documented batch reads, per POLL_BATCH_SIZE batch (the service polls batch by batch):
    // ServiceTitan: bookings?ids (≤50) + jobs?ids (≤50) + invoices?ids (≤50, invoiceId is on the job);
    // Housecall Pro: one page (100) of the job list by updated_at per 100 jobs changed since the last poll.
    const batches = (n: number) => Math.ceil(n / POLL_BATCH_SIZE);
    const stBound = (polled: number, withJob: number, completed: number) =>
      batches(polled) *
      (Math.ceil(Math.min(polled, POLL_BATCH_SIZE) / ST_IDS) +
        Math.ceil(Math.min(withJob / batches(polled), POLL_BATCH_SIZE) / ST_IDS) +
        (completed ? Math.ceil(completed / batches(polled) / ST_IDS) : 0));
    const hcpChanged = PER_PROVIDER - (plan.housecallpro.untouched ?? 0);

    type Pass = typeof pass1;
    const per1000 = (p: Pass, provider: Provider, n: number) =>
      p.dueBy[provider] ? (n * 1000) / p.dueBy[provider] : NaN;
    const requests = (p: Pass, provider: Provider) => p.stats.providers[provider]?.requests ?? 0;
    const stFirst = per1000(pass1, 'servicetitan', requests(pass1, 'servicetitan'));
    const hcpFirst = per1000(pass1, 'housecallpro', requests(pass1, 'housecallpro'));
    const hcpSteady = requests(pass2, 'housecallpro');
    const hcpSteadyDoubled = requests(pass3, 'housecallpro');
    const growth = hcpSteadyDoubled / hcpSteady;

    const lines: string[] = [
      `ratio: ServiceTitan first poll ${fmt(stFirst)} requests per 1,000 routings ÷ 540 before issue 13 = ` +
        `${fmt(stFirst / 540, 3)}; Housecall Pro unchanged poll with ${pass3.hcpHistory} ÷ with ${pass2.hcpHistory} old jobs = ` +
        `${hcpSteadyDoubled} ÷ ${hcpSteady} requests = ${fmt(growth, 2)}× (1.00 = flat in history)`,
    ];
    for (const p of [pass0, pass1, pass2, pass3]) {
      lines.push(`${p.label}: ${fmt(p.seconds)} s wall (trigger → all polled, queues idle)`);
      for (const provider of PROVIDERS) {
        const s: ProviderStats = p.stats.providers[provider];
        const polled = p.dueBy[provider] ?? 0;
        const completedNow = provider === 'servicetitan' && p === pass1 ? plan.servicetitan.complete : 0;
        // Every booking but the untouched ones has a job after the lifecycle; none has one before it.
        const withJob = provider === 'servicetitan' && p !== pass0 ? polled - (plan.servicetitan.untouched ?? 0) : 0;
        const extra =
          provider === 'jobber'
            ? `, ${p.jobberPoints} query-cost points (${fmt(per1000(p, provider, p.jobberPoints))} per 1,000)`
            : provider === 'housecallpro'
              ? `, company history ${p.hcpHistory} old jobs`
              : '';
        lines.push(
          `  ${provider}: ${polled} routings polled, ${s.requests} requests (${s.tokenRequests} token, ${s.rateLimited} × 429) → ` +
            `${fmt(per1000(p, provider, s.requests))} requests per 1,000 routings${extra}`,
        );
        for (const [route, v] of Object.entries(s.byRoute)) {
          lines.push(
            `      ${route.padEnd(72)} ${String(v.count).padStart(5)}  (${fmt(per1000(p, provider, v.count))} per 1,000) ${JSON.stringify(v.byStatus)}`,
          );
        }
        if (provider === 'jobber') continue;
        const bound =
          provider === 'servicetitan'
            ? stBound(polled, withJob, completedNow)
            : Math.max(1, Math.ceil((p === pass1 ? hcpChanged : 0) / HCP_PAGE));
        lines.push(
          `      ratio: ÷ one request per routing (${polled}) = ${fmt(s.requests / polled, 3)}; ` +
            `÷ batched lower bound (${bound} requests: ${provider === 'servicetitan' ? 'ids-batched bookings+jobs+invoices per 100-routing batch' : `one ${HCP_PAGE}/page read of the jobs changed since the last poll`}) = ${fmt(s.requests / bound, 2)}×`,
        );
      }
      lines.push(`  routings after: ${p.after.map((r) => `${r.provider_type}/${r.status}=${r.n}`).join(' ')}`);
    }
    header('poll results', [...lines, machineLine()]);
    reportResult({
      measure: 'ServiceTitan requests, first poll of 1,000 routings (half completed)',
      now: `${fmt(stFirst)}`,
      target: '≤ 60',
      met: stFirst <= 60,
    });
    reportResult({
      measure: 'Housecall Pro poll requests per 1,000 routings with 20,000 other jobs',
      now:
        `${fmt(hcpFirst)} (first poll after the lifecycle, ${pass1.hcpHistory} old jobs); unchanged poll ` +
        `${hcpSteady} requests at ${pass2.hcpHistory} and ${hcpSteadyDoubled} at ${pass3.hcpHistory} old jobs (${fmt(growth, 2)}×)`,
      target: '≤ 25, flat in history',
      met: hcpFirst <= 25 && growth <= 1.1,
    });
    if (WITH_JOBBER) {
      reportResult({
        measure: 'Jobber poll cost per 1,000 routings',
        now:
          `first poll after the lifecycle ${fmt(per1000(pass1, 'jobber', requests(pass1, 'jobber')))} requests + ` +
          `${fmt(per1000(pass1, 'jobber', pass1.jobberPoints))} points; unchanged ` +
          `${fmt(per1000(pass2, 'jobber', requests(pass2, 'jobber')))} requests + ${fmt(per1000(pass2, 'jobber', pass2.jobberPoints))} points`,
        target: 'report only',
        met: true,
      });
    }
  } finally {
    await h.stopAll();
  }
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
