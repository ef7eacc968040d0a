/**
 * bench:poll: provider requests per 1,000 routings polled, per provider.
 *
 * Seeds, through the API and the real sync, 1,000 synced routings of one ServiceTitan company and 1,000 of one
 * Housecall Pro company; then moves the sandbox records through their lifecycle (per 10 records: 5 completed
 * with an invoice total, 1 canceled, 2 in progress, 1 scheduled, 1 untouched). Sandbox stats are reset and the
 * poll sweep is run (POST /api/admin/sweeps/poll/run, admin key) until every synced routing was polled and the
 * poll queue is idle. Pass 1 is that first poll; pass 2 polls again with nothing changed at the provider (the
 * steady state: only the 40% still open are polled).
 * Processes: sandbox, API, worker from dist/ (POLL_BATCH_SIZE and POLL_CONCURRENCY at their defaults, 100 and 2);
 * database tradeengage_bench_poll (fresh), Redis db 15 (flushed).
 *
 * Env: BENCH_ROUTINGS (per provider, 1000).
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

const PER_PROVIDER = Number(process.env.BENCH_ROUTINGS ?? 1000);
const POLL_BATCH_SIZE = 100; // the service default, stated here for the lower-bound arithmetic
const ST_IDS = 50; // ServiceTitan ids filter maximum
const HCP_PAGE = 100; // the client's page_size
const DB = 'tradeengage_bench_poll';
const REDIS_URL = 'redis://127.0.0.1:6379/15';

type Provider = 'servicetitan' | 'housecallpro';
const PROVIDERS: Provider[] = ['servicetitan', 'housecallpro'];

function lifecycleAction(i: number): { action: 'complete' | 'cancel' | 'start' | 'schedule'; cents?: number } | null {
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
    const common = { databaseUrl, redisUrl: REDIS_URL, sandboxUrl: sandbox.url };
    const apiProc = await h.startService('api', serviceEnv({ mode: 'api', ...common }));
    const worker = await h.startService('worker', serviceEnv({ mode: 'worker', ...common }));
    console.log(`sandbox pid ${sandbox.pid}, api pid ${apiProc.pid}, worker pid ${worker.pid}`);
    const api = new Api(apiProc.url);
    const network = await createNetwork(api, { st: true, hcp: true }, 'poll');
    const companyOf: Record<Provider, string> = { servicetitan: network.st!.id, housecallpro: network.hcp!.id };

    // ---- Seed: create the jobs, let them sync.
    const seedStart = Date.now();
    const statuses = await mapLimit(
      Array.from({ length: PER_PROVIDER * 2 }, (_, i) => i),
      8,
      async (i) => (await api.post('/api/jobs', jobBody(network, companyOf[PROVIDERS[i % 2]], i))).status,
    );
    if (statuses.some((s) => s !== 201))
      throw new Error(`some POST /api/jobs failed: ${statuses.filter((s) => s !== 201).length}`);
    const db = await pgClient(databaseUrl);
    await waitUntil(
      'all routings synced',
      async () =>
        (await db.query(`SELECT count(*)::int AS n FROM routings WHERE status = 'synced'`)).rows[0].n ===
        PER_PROVIDER * 2,
      300_000,
    );
    console.log(`seeded ${PER_PROVIDER * 2} synced routings in ${fmt((Date.now() - seedStart) / 1000)} s`);

    // ---- Lifecycle at the provider.
    const plan: Record<Provider, Record<string, number>> = { servicetitan: {}, housecallpro: {} };
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
          await sandbox.control.serviceTitanBookingAction(row.external_id, step.action, step.cents);
        else await sandbox.control.housecallProJobAction(row.external_id, step.action, step.cents);
      });
    }
    console.log(`lifecycle applied: ${JSON.stringify(plan)}`);

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
      const after = await db.query(
        `SELECT provider_type, status, count(*)::int AS n FROM routings GROUP BY 1, 2 ORDER BY 1, 2`,
      );
      return {
        label,
        dueBy,
        seconds,
        stats,
        after: after.rows as { provider_type: string; status: string; n: number }[],
      };
    };
    const pass1 = await pass('pass 1 (first poll after the lifecycle)');
    const pass2 = await pass('pass 2 (nothing changed since pass 1)');
    await db.end();

    // ---- Lower bounds with documented batch reads, per POLL_BATCH_SIZE batch (the service polls batch by batch):
    // ServiceTitan: bookings?ids (≤50) + jobs?ids (≤50) + invoices?ids (≤50, invoiceId is on the job);
    // Housecall Pro: one scan of the company's job list (100 per page) per poll of the company.
    const batches = (n: number) => Math.ceil(n / POLL_BATCH_SIZE);
    const stBound = (polled: number, withJob: number, completed: number) =>
      batches(polled) *
      (Math.ceil(Math.min(polled, POLL_BATCH_SIZE) / ST_IDS) +
        Math.ceil(Math.min(withJob / batches(polled), POLL_BATCH_SIZE) / ST_IDS) +
        (completed ? Math.ceil(completed / batches(polled) / ST_IDS) : 0));
    const hcpBound = Math.ceil(PER_PROVIDER / HCP_PAGE);

    const lines: string[] = [];
    for (const p of [pass1, pass2]) {
      lines.push(`${p.label}: ${fmt(p.seconds)} s wall (trigger → all polled, queues idle)`);
      for (const provider of PROVIDERS) {
        const s: ProviderStats = p.stats.providers[provider];
        const polled = p.dueBy[provider] ?? 0;
        const per1000 = (n: number) => (polled ? (n * 1000) / polled : NaN);
        const completedNow = provider === 'servicetitan' && p === pass1 ? plan.servicetitan.complete : 0;
        // Every booking but the untouched ones has a job; the untouched are polled in both passes.
        const withJob = provider === 'servicetitan' ? polled - (plan.servicetitan.untouched ?? 0) : 0;
        const bound = provider === 'servicetitan' ? stBound(polled, withJob, completedNow) : hcpBound;
        lines.push(
          `  ${provider}: ${polled} routings polled, ${s.requests} requests (${s.tokenRequests} token, ${s.rateLimited} × 429) → ` +
            `${fmt(per1000(s.requests))} requests per 1,000 routings`,
        );
        for (const [route, v] of Object.entries(s.byRoute)) {
          lines.push(
            `      ${route.padEnd(72)} ${String(v.count).padStart(5)}  (${fmt(per1000(v.count))} per 1,000) ${JSON.stringify(v.byStatus)}`,
          );
        }
        lines.push(
          `      ratio: ÷ one request per routing (${polled}) = ${fmt(s.requests / polled, 3)}; ` +
            `÷ batched lower bound (${bound} requests: ${provider === 'servicetitan' ? 'ids-batched bookings+jobs+invoices per 100-routing batch' : `one ${HCP_PAGE}/page scan of the company's ${PER_PROVIDER} jobs`}) = ${fmt(s.requests / bound, 2)}×`,
        );
      }
      lines.push(`  routings after: ${p.after.map((r) => `${r.provider_type}/${r.status}=${r.n}`).join(' ')}`);
    }
    header('poll results', [...lines, machineLine()]);
  } finally {
    await h.stopAll();
  }
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
