/**
 * bench:load: POST /api/jobs under sustained load with the workers syncing, then the sync backlog's drain.
 *
 *   npm run bench:load                       # builds (npm run build), then measures the compiled service
 *   npm run bench:load -- --duration=120 --connections=100 --baseline=10 --drain-timeout=1200
 *
 * 1 API process (APP_MODE=api) and 1 worker process (APP_MODE=worker) from dist/, on a fresh database
 * (tradeengage_bench_load, real migrations: `node dist/src/database/migrate.js`) and Redis logical db 14 (flushed;
 * refused when another client is connected to it). Providers point at a sandbox started in this process
 * (`startSandbox({ port: 0, autoLifecycle: false })`), so nothing completes and no poll runs; RATE_LIMITS and
 * API_RATE_LIMIT_PER_MINUTE are out of the way, LOG_LEVEL=warn, crons yearly except SYNC_CRON every 10 s (the
 * safety-net sweep a production worker runs; the API enqueues each routing itself).
 *
 * Through the API: a referring company with a technician and two receiving companies, one ServiceTitan and one
 * Housecall Pro. Then autocannon (programmatic): 10 s of GET /api/health/live (the baseline), and 60 s of
 * POST /api/jobs at 50 connections, each job targeting both companies and with its own homeowner (so every
 * Housecall Pro sync creates its customer). Afterwards the database is polled until no routing is pending, syncing
 * or failed: the drain time counts from the end of the load. Every child process is stopped by its PID.
 *
 * autocannon and the sandbox share this process (and the machine with PostgreSQL, Redis and both services):
 * compare runs on the same machine, not with other machines.
 */
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

import autocannon from 'autocannon';
import Redis from 'ioredis';

import { startSandbox } from '../../src/sandbox/sandbox';
import { SandboxControl } from '../../src/sandbox/sandbox-control.client';
import {
  Api,
  BENCH_ADMIN_KEY,
  Harness,
  assertBuilt,
  createNetwork,
  dbUrl,
  flushRedis,
  fmt,
  header,
  jobBody,
  machineLine,
  pgClient,
  recreateDatabase,
  serviceEnv,
} from './lib/harness';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) =>
  Number(args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const DURATION_S = arg('duration', 60);
const BASELINE_S = arg('baseline', 10);
const CONNECTIONS = arg('connections', 50);
const DRAIN_TIMEOUT_S = arg('drain-timeout', 1200);
const DB = 'tradeengage_bench_load';
const REDIS_URL = 'redis://127.0.0.1:6379/14';
const SYNC_EVERY_10_S = '*/10 * * * * *';
const UNFINISHED = ['pending', 'syncing', 'failed'];

/** Refuses to flush a Redis logical database another process is connected to (a benchmark running elsewhere). */
async function assertRedisDbIdle(url: string): Promise<void> {
  const db = Number(new URL(url).pathname.slice(1));
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    const me = String(await redis.client('ID'));
    const others = String(await redis.client('LIST'))
      .split('\n')
      .filter((line) => new RegExp(`\\bdb=${db}\\b`).test(line) && !line.startsWith(`id=${me} `));
    if (others.length)
      throw new Error(`Redis db ${db} has ${others.length} other client(s): another benchmark is running`);
  } finally {
    await redis.quit();
  }
}

interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  total: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
}

async function load(options: autocannon.Options): Promise<LoadResult> {
  const r = await autocannon({ connections: CONNECTIONS, ...options });
  const statusCodes = Object.fromEntries(
    Object.entries((r as unknown as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {}).map(
      ([code, s]) => [code, s.count],
    ),
  );
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    total: r.requests.total,
    ok: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    statusCodes,
  };
}

const line = (name: string, r: LoadResult) =>
  `${name.padEnd(34)} ${fmt(r.rps, 0).padStart(7)} req/s   p50 ${String(r.p50).padStart(4)} ms   p99 ${String(r.p99).padStart(5)} ms   ` +
  `requests ${r.total}   2xx ${r.ok}   non-2xx ${r.non2xx}   errors ${r.errors} (timeouts ${r.timeouts})   status ${JSON.stringify(r.statusCodes)}`;

async function main(): Promise<void> {
  assertBuilt();
  const h = new Harness('load');
  const databaseUrl = dbUrl(DB);
  const sandbox = await startSandbox({ port: 0, autoLifecycle: false });
  try {
    console.log(
      `load: ${DURATION_S} s of POST /api/jobs at ${CONNECTIONS} connections; ${cpus().length} CPUs; ${machineLine()}; logs in ${h.logDir}`,
    );
    await assertRedisDbIdle(REDIS_URL);
    await recreateDatabase(DB);
    await h.migrate(databaseUrl);
    await flushRedis(REDIS_URL);
    const common = { databaseUrl, redisUrl: REDIS_URL, sandboxUrl: sandbox.url, extra: { SYNC_CRON: SYNC_EVERY_10_S } };
    const apiProc = await h.startService('api', serviceEnv({ mode: 'api', ...common }));
    const worker = await h.startService('worker', serviceEnv({ mode: 'worker', ...common }));
    console.log(
      `sandbox ${sandbox.url} (in process ${process.pid}); api pid ${apiProc.pid} ${apiProc.url}; worker pid ${worker.pid}`,
    );

    const api = new Api(apiProc.url);
    const network = await createNetwork(api, { st: true, hcp: true }, 'load');
    const targets = [network.st!.id, network.hcp!.id];
    const db = await pgClient(databaseUrl);

    const live = await load({ url: `${apiProc.url}/api/health/live`, duration: BASELINE_S });
    console.log(line('GET /api/health/live (baseline)', live));

    let n = 0;
    const tStart = Date.now();
    const post = await load({
      url: `${apiProc.url}/api/jobs`,
      method: 'POST',
      duration: DURATION_S,
      headers: { authorization: `Bearer ${BENCH_ADMIN_KEY}`, 'content-type': 'application/json' },
      requests: [
        {
          // One homeowner per job; both receiving companies as targets.
          setupRequest: (req) => ({
            ...req,
            body: JSON.stringify({ ...jobBody(network, targets[0], n++), targetCompanyIds: targets }),
          }),
        },
      ],
    });
    const tEnd = Date.now();
    console.log(line('POST /api/jobs (2 targets)', post));

    const counts = async () => {
      const { rows } = await db.query<{ status: string; n: number }>(
        `SELECT status, count(*)::int AS n FROM routings GROUP BY status`,
      );
      return Object.fromEntries(rows.map((r) => [r.status, r.n])) as Record<string, number>;
    };
    const unfinished = (c: Record<string, number>) => UNFINISHED.reduce((sum, s) => sum + (c[s] ?? 0), 0);
    const atEnd = await counts();
    const { rows: during } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM routings WHERE synced_at <= to_timestamp($1 / 1000.0)`,
      [tEnd],
    );
    console.log(
      `at the end of the load: ${JSON.stringify(atEnd)}; backlog ${unfinished(atEnd)}; synced during the load ${during[0].n}`,
    );

    let drainedAt: number | null = null;
    let last = atEnd;
    let nextReport = Date.now() + 10_000;
    while (Date.now() - tEnd < DRAIN_TIMEOUT_S * 1000) {
      last = await counts();
      if (unfinished(last) === 0) {
        drainedAt = Date.now();
        break;
      }
      if (Date.now() >= nextReport) {
        console.log(`  +${fmt((Date.now() - tEnd) / 1000, 0)} s: backlog ${unfinished(last)} ${JSON.stringify(last)}`);
        nextReport += 10_000;
      }
      await sleep(250);
    }
    const { rows: jobs } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM jobs`);
    const { rows: sync } = await db.query<{ first: Date | null; last: Date | null }>(
      `SELECT min(synced_at) AS first, max(synced_at) AS last FROM routings WHERE synced_at IS NOT NULL`,
    );
    const sandboxStats = await new SandboxControl(sandbox.url).stats();
    await db.end();

    const synced = last.synced ?? 0;
    const routingsTotal = Object.values(last).reduce((a, b) => a + b, 0);
    const syncSpanS = sync[0].first && sync[0].last ? (sync[0].last.getTime() - sync[0].first.getTime()) / 1000 : NaN;
    header('load results', [
      line('GET /api/health/live (baseline)', live),
      line('POST /api/jobs (2 targets)', post),
      `POST/GET throughput ratio: ${fmt(post.rps / live.rps, 3)} (${fmt(post.rps, 0)} / ${fmt(live.rps, 0)} req/s); ` +
        `p99 ratio ${fmt(post.p99 / Math.max(1, live.p99), 1)}`,
      `load window: ${fmt((tEnd - tStart) / 1000, 1)} s; jobs in the database ${jobs[0].n} (201s counted by autocannon ${post.statusCodes['201'] ?? 0}); routings ${routingsTotal}`,
      `backlog at the end of the load: ${unfinished(atEnd)} (${JSON.stringify(atEnd)}); synced during the load: ${during[0].n}`,
      drainedAt === null
        ? `backlog NOT drained within ${DRAIN_TIMEOUT_S} s: ${JSON.stringify(last)}`
        : `drain time: ${fmt((drainedAt - tEnd) / 1000, 1)} s from the end of the load until no routing is pending/syncing/failed`,
      `routings synced in total: ${synced}; final statuses ${JSON.stringify(last)}`,
      `sync rate over the whole run: ${fmt(synced / syncSpanS, 1)} routings/s (first to last synced_at, ${fmt(syncSpanS, 1)} s)`,
      `sandbox: ${sandboxStats.requests} requests (servicetitan ${sandboxStats.providers.servicetitan.requests}, ` +
        `housecallpro ${sandboxStats.providers.housecallpro.requests}), 429s ${sandboxStats.rateLimited}`,
      machineLine(),
    ]);
  } finally {
    await h.stopAll();
    await sandbox.close();
  }
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
