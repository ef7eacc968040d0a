/**
 * bench:sync-latency: create-to-synced latency of 1,000 referrals (each routed to one company, alternating
 * ServiceTitan and Housecall Pro) against the unthrottled sandbox, posted at a steady rate.
 *
 * Processes: sandbox (node dist/src/sandbox/main.js), API (APP_MODE=api) and worker (APP_MODE=worker) from dist/,
 * database tradeengage_bench_sync (fresh, real migrations), Redis db 13 (flushed).
 * Latency = routing.synced_at - routing.created_at (both from PostgreSQL, as the brief defines it); also shown:
 * synced_at - the moment the client received the 201 (same host clock).
 * Baseline, same run: the sandbox round trip of one ServiceTitan create (a first attempt: POST booking only)
 * through the service's own ServiceTitanProvider, sequential, from this process; the Housecall Pro create too.
 *
 * Then a Jobber phase: BENCH_JOBBER_JOBS referrals to one company connected to Jobber through the OAuth flow (the
 * sandbox speaks Jobber), at the same rate: its create→synced latency and its own CPU per referral. Jobber's
 * call limit and query budget are lifted (service and sandbox): the phase measures the service, not throttling.
 * Prints one RESULT line per measure of issue 13's table (test/bench/lib/results.ts).
 *
 * Env: BENCH_JOBS (1000), BENCH_JOBBER_JOBS (300), BENCH_RATE (jobs/s, 20), BENCH_BASELINE_SAMPLES (200),
 * BENCH_REDIS_URL (redis://127.0.0.1:6379/13), BENCH_CPU_PROF_DIR (unset: a worker CPU profile written there).
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import { HousecallProClient } from '../../src/providers/housecallpro/housecallpro.client';
import { HousecallProProvider } from '../../src/providers/housecallpro/housecallpro.provider';
import { ServiceTitanClient } from '../../src/providers/servicetitan/servicetitan.client';
import { ServiceTitanProvider } from '../../src/providers/servicetitan/servicetitan.provider';
import { FieldServiceProvider, Referral } from '../../src/providers/field-service-provider';
import {
  Api,
  CpuMeter,
  Harness,
  GENEROUS_RATE_LIMITS,
  Network,
  assertBuilt,
  createNetwork,
  dbUrl,
  flushRedis,
  fmt,
  header,
  jobBody,
  machineLine,
  pct,
  pgClient,
  postgresBackends,
  processCpuMs,
  recreateDatabase,
  serviceEnv,
  summary,
  waitUntil,
} from './lib/harness';
import { reportResult } from './lib/results';

const JOBS = Number(process.env.BENCH_JOBS ?? 1000);
const JOBBER_JOBS = Number(process.env.BENCH_JOBBER_JOBS ?? 300);
const TARGET_P50_MS = 8;
const TARGET_P99_MS = 25;
const TARGET_CPU_MS = 6;
const JOBBER_APP = { clientId: 'sandbox-jobber-client-id', clientSecret: 'sandbox-jobber-client-secret' };
const RATE = Number(process.env.BENCH_RATE ?? 20);
const BASELINE_SAMPLES = Number(process.env.BENCH_BASELINE_SAMPLES ?? 200);
const GOAL_P50_MS = 250;
const DB = 'tradeengage_bench_sync';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/13';

function referral(i: number): Referral {
  return {
    routingId: randomUUID(),
    jobId: randomUUID(),
    referringCompanyName: 'Baseline Plumbing',
    homeowner: {
      firstName: 'Base',
      lastName: `Line${i}`,
      phone: `+1512${String(3_000_000 + i).padStart(7, '0')}`,
      email: `baseline${i}@example.com`,
    },
    address: { street: `${i} Baseline Rd`, unit: null, city: 'Austin', state: 'TX', zip: '78701', country: 'US' },
    summary: 'Baseline referral',
    trade: 'electrical',
  };
}

/** Sequential creates through the service's provider code, straight to the sandbox (no queue, no DB, no limiter). */
async function providerRoundTrip<C extends object>(
  provider: FieldServiceProvider<C>,
  credentials: C,
  samples: number,
  offset: number,
) {
  for (let i = 0; i < 20; i++)
    await provider.createReferral({ credentials, referral: referral(offset + i), mayAlreadyExist: false }); // warm-up, token
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const r = referral(offset + 100 + i);
    const t = performance.now();
    await provider.createReferral({ credentials, referral: r, mayAlreadyExist: false });
    times.push(performance.now() - t);
  }
  return times;
}

/** CPU (user + system) of the service processes and of this database's PostgreSQL backends over a stretch. */
class ServiceCpu {
  private readonly start = new Map<number, number>();

  constructor(
    private readonly pids: { api: number; worker: number },
    private readonly database: string,
  ) {
    for (const pid of [pids.api, pids.worker, ...postgresBackends(database)]) this.start.set(pid, processCpuMs(pid));
  }

  /** ms per referral: api, worker, PostgreSQL backends (a backend started meanwhile counts from zero). */
  perReferral(count: number): { api: number; worker: number; postgres: number; total: number } {
    const used = (pid: number) => processCpuMs(pid) - (this.start.get(pid) ?? 0);
    const api = used(this.pids.api) / count;
    const worker = used(this.pids.worker) / count;
    const postgres = postgresBackends(this.database).reduce((n, pid) => n + used(pid), 0) / count;
    return { api, worker, postgres, total: api + worker + postgres };
  }
}

const cpuLine = (c: { api: number; worker: number; postgres: number; total: number }) =>
  `${fmt(c.api)} + ${fmt(c.worker)} + ${fmt(c.postgres)} = ${fmt(c.total)} ms`;

/** A company connected to a new Jobber account through the OAuth flow, as an admin's browser would. */
async function jobberCompany(api: Api, tag: string): Promise<string> {
  const company = await api.expect('POST', '/api/companies', 201, {
    name: `${tag} Jobber electric`,
    trades: ['electrical'],
  });
  const authorize = await api.expect('POST', `/api/companies/${company.id}/connections/jobber/authorize`, 200);
  const approval = await fetch(authorize.authorizeUrl as string, { redirect: 'manual' });
  const location = new URL(approval.headers.get('location') ?? '');
  const callback = await fetch(`${api.baseUrl}${location.pathname}${location.search}`);
  if (!callback.ok) throw new Error(`Jobber OAuth callback: ${callback.status} ${await callback.text()}`);
  return company.id as string;
}

/** Posts `count` referrals to the targets `targetOf(i)` picks, open loop at RATE/s; resolves with every answer. */
async function postAtRate(api: Api, network: Network, count: number, offset: number, targetOf: (i: number) => string) {
  const interval = 1000 / RATE;
  const posts: Promise<{ i: number; status: number; sentAt: number; at: number; routingId?: string }>[] = [];
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const sentAt = Date.now();
    posts.push(
      api.post('/api/jobs', jobBody(network, targetOf(i), offset + i)).then((res) => ({
        i,
        status: res.status,
        sentAt,
        at: res.at,
        routingId: res.body?.routings?.[0]?.id as string | undefined,
      })),
    );
  }
  const results = await Promise.all(posts);
  return { results, seconds: (performance.now() - start) / 1000 };
}

async function main(): Promise<void> {
  assertBuilt();
  const h = new Harness('sync-latency');
  const databaseUrl = dbUrl(DB);
  try {
    console.log(`sync-latency: ${JOBS} jobs at ${RATE}/s; ${machineLine()}; logs in ${h.logDir}`);
    await recreateDatabase(DB);
    await h.migrate(databaseUrl);
    await flushRedis(REDIS_URL);
    const sandbox = await h.startSandbox();
    const common = {
      databaseUrl,
      redisUrl: REDIS_URL,
      sandboxUrl: sandbox.url,
      extra: {
        // Jobber's own limits (500 calls/min, a 10,000-point query budget) would make this a throttling bench.
        RATE_LIMITS: JSON.stringify({
          ...JSON.parse(GENEROUS_RATE_LIMITS),
          jobber: { perMinute: 1_000_000, perHour: 60_000_000, burst: 100_000 },
        }),
        JOBBER_API_URL: sandbox.url,
        JOBBER_CLIENT_ID: JOBBER_APP.clientId,
        JOBBER_CLIENT_SECRET: JOBBER_APP.clientSecret,
      },
    };
    const apiProc = await h.startService('api', serviceEnv({ mode: 'api', ...common }));
    // BENCH_CPU_PROF_DIR: the worker writes a V8 CPU profile there when it stops (lib/cpu-profile.js).
    const profile: Record<string, string> = process.env.BENCH_CPU_PROF_DIR
      ? {
          NODE_OPTIONS: `--require ${join(__dirname, 'lib', 'cpu-profile.js')}`,
          CPU_PROFILE_DIR: process.env.BENCH_CPU_PROF_DIR,
        }
      : {};
    const worker = await h.startService(
      'worker',
      serviceEnv({ mode: 'worker', ...common, extra: { ...common.extra, ...profile } }),
    );
    console.log(
      `sandbox ${sandbox.url} (pid ${sandbox.pid}), api ${apiProc.url} (pid ${apiProc.pid}), worker ${worker.url} (pid ${worker.pid})`,
    );
    const api = new Api(apiProc.url);
    const network = await createNetwork(api, { st: true, hcp: true }, 'latency');

    // ---- Baseline: the sandbox's own create round trip, measured now, with the service idle.
    const settings = { authUrl: sandbox.url, apiUrl: sandbox.url, appKey: 'bench-app-key', requestTimeoutMs: 15_000 };
    const stBaseline = await providerRoundTrip(
      new ServiceTitanProvider(new ServiceTitanClient(settings)),
      { tenantId: '990001', clientId: 'cid.baseline', clientSecret: 'cs.baseline', bookingProviderId: '9' },
      BASELINE_SAMPLES,
      0,
    );
    const hcpBaseline = await providerRoundTrip(
      new HousecallProProvider(new HousecallProClient(settings)),
      { apiKey: 'hcp_baseline_key' },
      BASELINE_SAMPLES,
      10_000,
    );

    // ---- Load: open-loop posting at a fixed rate (a slow response does not delay the next send).
    const cpu = new CpuMeter(
      [
        { name: 'sandbox', pid: sandbox.pid },
        { name: 'api', pid: apiProc.pid },
        { name: 'worker', pid: worker.pid },
      ],
      DB,
    );
    const serviceCpu = new ServiceCpu({ api: apiProc.pid, worker: worker.pid }, DB);
    const { results, seconds: postSeconds } = await postAtRate(api, network, JOBS, 0, (i) =>
      i % 2 === 0 ? network.st!.id : network.hcp!.id,
    );
    const failedPosts = results.filter((r) => r.status !== 201);
    if (failedPosts.length)
      console.log(`WARNING: ${failedPosts.length} POSTs were not 201, e.g. ${failedPosts[0].status}`);

    const db = await pgClient(databaseUrl);
    const waitedMs = await waitUntil(
      'every routing to leave pending/syncing',
      async () => {
        const { rows } = await db.query(
          `SELECT count(*)::int AS n FROM routings WHERE status IN ('pending', 'syncing')`,
        );
        return rows[0].n === 0;
      },
      180_000,
    );
    const cpuLines = cpu.report({ count: JOBS, unit: 'job' });
    const perReferral = serviceCpu.perReferral(JOBS);
    const { rows } = await db.query(
      `SELECT r.id, r.provider_type, r.status, r.attempts,
              extract(epoch FROM r.created_at) * 1000 AS created_ms, extract(epoch FROM r.synced_at) * 1000 AS synced_ms,
              (SELECT e.duration_ms FROM routing_events e WHERE e.routing_id = r.id AND e.type = 'sync_attempt' AND e.outcome = 'success' LIMIT 1) AS provider_ms
         FROM routings r`,
    );
    const statuses = await db.query(`SELECT status, count(*)::int AS n FROM routings GROUP BY status ORDER BY status`);
    await db.end();
    // Server-side time per provider route (the sandbox's log keeps the last 1,000 requests).
    const byRoute = new Map<string, number[]>();
    for (const entry of await sandbox.control.requests({ limit: 1000 })) {
      const list = byRoute.get(entry.route) ?? [];
      list.push(entry.durationMs);
      byRoute.set(entry.route, list);
    }

    const byId = new Map(results.map((r) => [r.routingId, r]));
    const lat = { all: [] as number[], servicetitan: [] as number[], housecallpro: [] as number[] };
    const fromClient: number[] = [];
    const providerPart: Record<string, number[]> = { servicetitan: [], housecallpro: [] };
    let retried = 0;
    for (const row of rows) {
      if (row.status !== 'synced') continue;
      if (row.attempts > 1) retried++;
      const ms = Number(row.synced_ms) - Number(row.created_ms);
      lat.all.push(ms);
      lat[row.provider_type as 'servicetitan' | 'housecallpro'].push(ms);
      const post = byId.get(row.id);
      if (post) fromClient.push(Number(row.synced_ms) - post.at);
      if (row.provider_ms !== null) providerPart[row.provider_type].push(Number(row.provider_ms));
    }
    const postLatency = results.filter((r) => r.status === 201).map((r) => r.at - r.sentAt);

    // ---- Jobber: one company connected through OAuth, the same rate, its own CPU figure.
    await sandbox.control.setJobberSettings({ maximumAvailable: 100_000_000, restoreRate: 10_000_000 });
    const jobberTarget = await jobberCompany(api, 'latency');
    const jobberCpu = new ServiceCpu({ api: apiProc.pid, worker: worker.pid }, DB);
    const jobber = await postAtRate(api, network, JOBBER_JOBS, 100_000, () => jobberTarget);
    const jobberIds = jobber.results.filter((r) => r.status === 201).map((r) => r.routingId!);
    const jdb = await pgClient(databaseUrl);
    await waitUntil(
      'every Jobber routing to leave pending/syncing',
      async () => {
        const { rows } = await jdb.query(
          `SELECT count(*)::int AS n FROM routings WHERE id = ANY($1::uuid[]) AND status IN ('pending', 'syncing')`,
          [jobberIds],
        );
        return rows[0].n === 0;
      },
      180_000,
    );
    const jobberPerReferral = jobberCpu.perReferral(JOBBER_JOBS);
    const jobberRows = (
      await jdb.query(
        `SELECT status, extract(epoch FROM synced_at - created_at) * 1000 AS ms FROM routings WHERE id = ANY($1::uuid[])`,
        [jobberIds],
      )
    ).rows as { status: string; ms: string | null }[];
    await jdb.end();
    const jobberLat = jobberRows.filter((r) => r.status === 'synced').map((r) => Number(r.ms));
    const jobberStatuses = [...new Set(jobberRows.map((r) => r.status))]
      .map((st) => `${st}=${jobberRows.filter((r) => r.status === st).length}`)
      .join(' ');

    const p50 = pct(lat.all, 50);
    const p99 = pct(lat.all, 99);
    const stBase = pct(stBaseline, 50);
    header('sync-latency results', [
      `ratio: create→synced p50 ÷ ServiceTitan round-trip p50 = ${fmt(p50)} ÷ ${fmt(stBase, 2)} = ${fmt(p50 / stBase, 2)}×; ` +
        `ServiceTitan only: ${fmt(pct(lat.servicetitan, 50) / stBase, 2)}×; Housecall Pro ÷ its baseline: ` +
        `${fmt(pct(lat.housecallpro, 50) / pct(hcpBaseline, 50), 2)}×`,
      `create→synced p50 / p99: ${fmt(p50)} / ${fmt(p99)} ms (target ≤ ${TARGET_P50_MS} / ${TARGET_P99_MS} ms)`,
      `service CPU per referral, api + worker + PostgreSQL backends: ${cpuLine(perReferral)} (target ≤ ${TARGET_CPU_MS} ms)`,
      `posted ${JOBS} jobs in ${fmt(postSeconds)} s (${fmt(JOBS / postSeconds)} jobs/s target ${RATE}/s); ${results.length - failedPosts.length} × 201`,
      `routing statuses at the end: ${statuses.rows.map((r) => `${r.status}=${r.n}`).join(' ')}; synced after a retry: ${retried}; ` +
        `all settled ${fmt(waitedMs / 1000)} s after the last 201`,
      `POST /api/jobs response time:            ${summary(postLatency)}`,
      `create→synced (synced_at − created_at), all:          ${summary(lat.all)}`,
      `  ServiceTitan:                                       ${summary(lat.servicetitan)}`,
      `  Housecall Pro:                                      ${summary(lat.housecallpro)}`,
      `201 received → synced_at (client clock), all:         ${summary(fromClient)}`,
      `  of which provider calls (sync_attempt duration_ms): ServiceTitan p50 ${fmt(pct(providerPart.servicetitan, 50))} ms, ` +
        `Housecall Pro p50 ${fmt(pct(providerPart.housecallpro, 50))} ms`,
      `sandbox-side handling time of the last 1,000 provider requests, per route:`,
      ...[...byRoute].map(
        ([route, ms]) => `  ${route.padEnd(75)} n=${ms.length} p50=${pct(ms, 50)} p99=${pct(ms, 99)} ms`,
      ),
      `baseline, sandbox round trip of one create through the provider code (sequential, service idle):`,
      `  ServiceTitan POST booking (first attempt):          ${summary(stBaseline)}`,
      `  Housecall Pro search ×2 + customer + job:           ${summary(hcpBaseline)}`,
      ...cpuLines,
      `Jobber: ${JOBBER_JOBS} jobs posted in ${fmt(jobber.seconds)} s; statuses ${jobberStatuses}`,
      `  Jobber create→synced:                               ${summary(jobberLat)}`,
      `  Jobber service CPU per referral, api + worker + PostgreSQL backends: ${cpuLine(jobberPerReferral)}`,
      `goal create→synced p50 < ${GOAL_P50_MS} ms: ${p50 < GOAL_P50_MS ? 'MET' : 'NOT MET'} (p50 ${fmt(p50)} ms, p99 ${fmt(pct(lat.all, 99))} ms)`,
      machineLine(),
    ]);
    reportResult({
      measure: 'create → synced p50 / p99',
      now: `${fmt(p50)} / ${fmt(p99)} ms`,
      target: `≤ ${TARGET_P50_MS} / ${TARGET_P99_MS} ms`,
      met: p50 <= TARGET_P50_MS && p99 <= TARGET_P99_MS,
    });
    reportResult({
      measure: 'service CPU per referral (api + worker + PostgreSQL)',
      now: cpuLine(perReferral),
      target: `≤ ${TARGET_CPU_MS} ms`,
      met: perReferral.total <= TARGET_CPU_MS,
    });
    reportResult({
      measure: 'Jobber create → synced p50 / p99',
      now: `${fmt(pct(jobberLat, 50))} / ${fmt(pct(jobberLat, 99))} ms (CPU ${cpuLine(jobberPerReferral)})`,
      target: 'report only',
      met: true,
    });
  } finally {
    await h.stopAll();
  }
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
