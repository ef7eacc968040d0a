/**
 * bench:throughput: sync throughput against a rate-limited ServiceTitan account over a 2-minute window.
 *
 * One ServiceTitan company. The service's limit RATE_LIMITS.servicetitan = {perMinute: N, perHour: 1,000,000,
 * burst: B}; the sandbox enforces the same N calls per minute on the account (PUT /_sandbox/limits/servicetitan).
 * 1 API process + 2 worker processes (APP_MODE=worker) share the limit through Redis (db 14, flushed);
 * database tradeengage_bench_throughput (fresh, real migrations).
 * 3N jobs are created through the API while the sync queue is paused; the window starts when it is resumed.
 * A first attempt is 1 provider call (the create; the lookup by externalId runs only on an attempt after one that may
 * have sent a create), so the limit caps syncs at N per minute; the measure is syncs per minute ÷ N.
 *
 * Env: BENCH_N (calls/min, 300), BENCH_BURST (10), BENCH_WINDOW_S (120), BENCH_JOBS (3N),
 * BENCH_REDIS_URL (redis://127.0.0.1:6379/14).
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { Queue } from 'bullmq';

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
  redisConnection,
  serviceEnv,
} from './lib/harness';
import { reportResult } from './lib/results';

const N = Number(process.env.BENCH_N ?? 300);
const BURST = Number(process.env.BENCH_BURST ?? 10);
const WINDOW_S = Number(process.env.BENCH_WINDOW_S ?? 120);
const JOBS = Number(process.env.BENCH_JOBS ?? N * 3);
const GOAL = 0.95;
const DB = 'tradeengage_bench_throughput';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/14';

async function metricSum(url: string, metric: string, filter = ''): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(metric) && l.includes(filter))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

async function main(): Promise<void> {
  assertBuilt();
  const h = new Harness('throughput');
  const databaseUrl = dbUrl(DB);
  let queue: Queue | undefined;
  try {
    console.log(
      `throughput: N=${N} calls/min, burst ${BURST}, window ${WINDOW_S} s, ${JOBS} jobs; ${machineLine()}; logs in ${h.logDir}`,
    );
    await recreateDatabase(DB);
    await h.migrate(databaseUrl);
    await flushRedis(REDIS_URL);
    const sandbox = await h.startSandbox();
    await sandbox.control.setLimits('servicetitan', { perMinute: N });
    const rateLimits = JSON.stringify({
      servicetitan: { perMinute: N, perHour: 1_000_000, burst: BURST },
      housecallpro: { perMinute: 1_000_000, perHour: 60_000_000, burst: 100_000 },
    });
    const common = { databaseUrl, redisUrl: REDIS_URL, sandboxUrl: sandbox.url, extra: { RATE_LIMITS: rateLimits } };
    const apiProc = await h.startService('api', serviceEnv({ mode: 'api', ...common }));
    const workers = [
      await h.startService('worker1', serviceEnv({ mode: 'worker', ...common })),
      await h.startService('worker2', serviceEnv({ mode: 'worker', ...common })),
    ];
    console.log(
      `sandbox pid ${sandbox.pid}, api pid ${apiProc.pid}, workers pid ${workers.map((w) => w.pid).join(', ')}; ` +
        `RATE_LIMITS=${rateLimits}; sandbox limit ${JSON.stringify(await sandbox.control.getLimits('servicetitan'))}`,
    );
    const api = new Api(apiProc.url);
    const network = await createNetwork(api, { st: true }, 'throughput');

    // Fill the queue while it is paused, so the window measures syncing only.
    queue = new Queue('sync', { connection: redisConnection(REDIS_URL) });
    await queue.pause();
    const created = await mapLimit(
      Array.from({ length: JOBS }, (_, i) => i),
      8,
      async (i) => (await api.post('/api/jobs', jobBody(network, network.st!.id, i))).status,
    );
    const notCreated = created.filter((s) => s !== 201).length;
    if (notCreated) throw new Error(`${notCreated} of ${JOBS} POST /api/jobs were not 201`);
    const counts = await queue.getJobCounts('waiting', 'prioritized', 'active');
    console.log(`created ${JOBS} jobs; sync queue while paused: ${JSON.stringify(counts)}`);

    const db = await pgClient(databaseUrl);
    await sandbox.control.setLimits('servicetitan', { perMinute: N }); // empties the sandbox's window
    await sandbox.control.resetStats();
    const t0 = Date.now();
    await queue.resume();

    const progress: string[] = [];
    for (let s = 10; s <= WINDOW_S; s += 10) {
      await sleep(Math.max(0, t0 + s * 1000 - Date.now()));
      const st = (await sandbox.control.stats()).providers.servicetitan;
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM routings WHERE status = 'synced'`);
      progress.push(
        `  t=${String(s).padStart(3)} s: sandbox requests ${st.requests} (token ${st.tokenRequests}, 429 ${st.rateLimited}), synced ${rows[0].n}`,
      );
      console.log(progress[progress.length - 1]);
    }
    const tEnd = t0 + WINDOW_S * 1000;
    const stats = (await sandbox.control.stats()).providers.servicetitan;
    const log = (await sandbox.control.requests({ provider: 'servicetitan', limit: 1000 })).filter(
      (e) => Date.parse(e.at) >= t0 && Date.parse(e.at) < tEnd,
    );
    const { rows } = await db.query(
      `SELECT count(*)::int AS n,
              count(*) FILTER (WHERE synced_at < to_timestamp($1 / 1000.0) + interval '60 seconds')::int AS first_minute
         FROM routings WHERE synced_at >= to_timestamp($1 / 1000.0) AND synced_at < to_timestamp($2 / 1000.0)`,
      [t0, tEnd],
    );
    const statuses = await db.query(`SELECT status, count(*)::int AS n FROM routings GROUP BY status ORDER BY status`);
    const throttled = (await Promise.all(workers.map((w) => metricSum(w.url, 'provider_rate_limited_total')))).reduce(
      (a, b) => a + b,
      0,
    );
    const worker429 = (
      await Promise.all(workers.map((w) => metricSum(w.url, 'provider_requests_total', 'status="429"')))
    ).reduce((a, b) => a + b, 0);
    await db.end();

    // Sandbox view: admitted API calls (token requests are not limited by ServiceTitan's per-account limit).
    const admitted = log.filter((e) => e.status !== 429 && !e.route.includes('/connect/token'));
    const times = admitted.map((e) => Date.parse(e.at)).sort((a, b) => a - b);
    let maxIn60 = 0;
    for (let i = 0, j = 0; i < times.length; i++) {
      while (times[i] - times[j] >= 60_000) j++;
      maxIn60 = Math.max(maxIn60, i - j + 1);
    }
    const buckets = new Array(Math.ceil(WINDOW_S / 10)).fill(0);
    for (const t of times) buckets[Math.floor((t - t0) / 10_000)]++;
    const rejected = log.filter((e) => e.status === 429).map((e) => `${((Date.parse(e.at) - t0) / 1000).toFixed(1)} s`);

    const minutes = WINDOW_S / 60;
    const apiCalls = stats.requests - stats.tokenRequests - stats.rateLimited;
    const callsPerMin = apiCalls / minutes;
    const syncsPerMin = rows[0].n / minutes;
    const callsPerSync = rows[0].n ? apiCalls / rows[0].n : Number.NaN;
    header('throughput results', [
      `ratio: syncs/min ÷ ServiceTitan call limit = ${fmt(syncsPerMin)} ÷ ${N} = ${fmt(syncsPerMin / N, 3)} ` +
        `(target ≥ ${GOAL}); ${fmt(callsPerSync, 2)} provider calls per sync`,
      `window ${WINDOW_S} s from queue.resume(); configured limit N = ${N} calls/min (service and sandbox), burst ${BURST}`,
      ...progress,
      `sandbox stats (servicetitan, window): requests ${stats.requests} = ${apiCalls} admitted API calls + ${stats.tokenRequests} token + ${stats.rateLimited} × 429`,
      `  by route: ${Object.entries(stats.byRoute)
        .map(([r, v]) => `${r} ${v.count} ${JSON.stringify(v.byStatus)}`)
        .join('; ')}`,
      `  admitted API calls per 10 s: ${buckets.join(' ')}; max in any 60 s (sandbox clock): ${maxIn60} (limit ${N})`,
      `  429s at: ${rejected.length ? rejected.join(', ') : 'none'}`,
      `syncs completed in the window: ${rows[0].n} (first minute ${rows[0].first_minute}, second ${rows[0].n - rows[0].first_minute}); ` +
        `routing statuses at the end: ${statuses.rows.map((r) => `${r.status}=${r.n}`).join(' ')}`,
      `workers: provider_rate_limited_total ${throttled} (calls that waited for a slot), provider 429s seen ${worker429}`,
      `calls/min = ${fmt(callsPerMin)} ÷ limit ${N} = ${fmt(callsPerMin / N, 3)}`,
      `syncs/min = ${fmt(syncsPerMin)} ÷ limit ${N} = ${fmt(syncsPerMin / N, 3)}; calls per sync ${fmt(callsPerSync, 2)}`,
      `429s returned by the sandbox: ${stats.rateLimited}`,
      `goal ≥ ${GOAL} of the limit with zero 429s: ${callsPerMin / N >= GOAL && stats.rateLimited === 0 ? 'MET' : 'NOT MET'}`,
      machineLine(),
    ]);
    reportResult({
      measure: 'syncs per minute ÷ ServiceTitan call limit',
      now: `${fmt(syncsPerMin / N, 3)} (${fmt(syncsPerMin)} syncs/min, limit ${N} calls/min)`,
      target: `≥ ${GOAL}`,
      met: syncsPerMin / N >= GOAL,
    });
    reportResult({
      measure: 'ServiceTitan provider calls per sync',
      now: fmt(callsPerSync, 2),
      target: 'report only (was 2: lookup + create)',
      met: true,
    });
  } finally {
    await queue?.close().catch(() => undefined);
    await h.stopAll();
  }
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
