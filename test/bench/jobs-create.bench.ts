/**
 * POST /api/jobs (one job routed to 5 companies) against GET /api/health/live, on the real service.
 *
 *   npm run bench:jobs                   # builds, then measures the compiled service (dist/src/main.js)
 *   npm run bench:jobs -- --duration=20  # seconds per measured run (default 10)
 *   npm run bench:jobs -- --no-reference # skip the plain node:http reference (row A of the baseline)
 *   npm run bench:jobs -- --profile      # also writes a V8 CPU profile of the service and prints its top functions
 *   npm run bench:jobs -- --only=get     # one scenario only (get | post | network), e.g. to profile it alone
 *
 * Scenarios: GET /api/health/live (the request pipeline alone); POST /api/jobs to 5 explicit targets; and POST
 * /api/jobs routed by the rules (trade + ZIP, 5 receivers) in a network of 10 companies, then of 10,000 (the
 * others take another trade, serve other ZIPs, are inactive or have no connection), to show the cost does not
 * grow with the network. BENCH_REDIS_URL overrides the Redis logical database (default 13).
 *
 * The service is a separate process in `api` mode (test/bench/lib/harness.ts), on a fresh
 * `tradeengage_bench_jobs` database and Redis logical database 13, stopped by its PID at the end. Compare the POST/GET ratio with perf-baseline.md
 * (D2/B: a Nest-Express validate + 1 job + 5 routings transaction over a Nest-Express hello), not the
 * absolute numbers: they depend on the machine and on autocannon sharing its CPU. As perf-baseline.md asks,
 * a plain node:http hello (row A) is measured in the same run, so each figure can also be scaled by it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

import autocannon from 'autocannon';

import {
  Api,
  BENCH_ADMIN_KEY,
  Harness,
  assertBuilt,
  dbUrl,
  flushRedis,
  freePort,
  pgClient,
  processCpuMs,
  recreateDatabase,
  serviceEnv,
} from './lib/harness';
import { reportResult } from './lib/results';

const DB = 'tradeengage_bench_jobs';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/13';
const NETWORK = { small: 10, large: 10_000 };
// Targets of issue 13.
const TARGET = { ratio: 0.25, postCpuMs: 1.2, getCpuMs: 0.25, networkRatio: 0.9 };
const CONNECTIONS = 50;
const WARMUP_SECONDS = 3;
// perf-baseline.md, medians on the reference machine: A = 24,347 (node:http), B = 3,755, D2 = 882 req/s;
// server CPU: B 105% (0.28 ms per request), D2 95% (1.08 ms per request).
const BASELINE = {
  nodeHttp: 24_347,
  get: 3755,
  post: 882,
  getCpuMs: (1.05 * 1000) / 3755,
  postCpuMs: (0.95 * 1000) / 882,
};
// Row A of the baseline: plain node:http answering a small JSON document.
const NODE_HTTP_HELLO = `
const body = JSON.stringify({ ok: true, service: 'perf', version: 1, items: [1, 2, 3] });
require('node:http')
  .createServer((req, res) => { res.setHeader('content-type', 'application/json'); res.end(body); })
  .listen(Number(process.env.PORT), '127.0.0.1', () => console.log('READY'));`;

const args = process.argv.slice(2);
const withReference = !args.includes('--no-reference');
const durationSeconds = Number(args.find((a) => a.startsWith('--duration='))?.split('=')[1] ?? 10);
const profile = args.includes('--profile');
const only = args.find((a) => a.startsWith('--only='))?.split('=')[1];
const runs = (scenario: 'get' | 'post' | 'network') => !only || only === scenario;

interface Row {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
  /** Server CPU time per request in ms (Linux /proc): steadier than req/s on a shared machine. */
  cpuMs: number;
  /** Server CPU over the measured run, % of one core. */
  cpuPercent: number;
}

/** Row A, in a process of its own like the service. */
async function measureNodeHttp(): Promise<Row> {
  const port = await freePort();
  const child = spawn(process.execPath, ['-e', NODE_HTTP_HELLO], {
    env: { PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout?.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`the node:http reference exited with ${code}`)));
    });
    return await measure('GET node:http hello (reference A)', { url: `http://127.0.0.1:${port}/` }, child.pid!);
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

/** A referring company with a technician and 5 receiving companies on ServiceTitan; returns the job bodies. */
async function seed(api: Api): Promise<{ explicit: string; byRules: string }> {
  const referrer = await api.expect<{ id: string }>('POST', '/api/companies', 201, {
    name: 'Bench Plumbing',
    trades: ['plumbing'],
  });
  const technician = await api.expect<{ id: string }>('POST', `/api/companies/${referrer.id}/technicians`, 201, {
    firstName: 'Pat',
    lastName: 'Pipes',
    phone: '512-555-0100',
  });
  const targets: string[] = [];
  for (let i = 0; i < 5; i++) {
    const company = await api.expect<{ id: string }>('POST', '/api/companies', 201, {
      name: `Bench Electric ${i}`,
      trades: ['electrical'],
      provider: {
        type: 'servicetitan',
        credentials: {
          tenantId: String(1000 + i),
          clientId: `cid.bench${i}`,
          clientSecret: `secret-${i}`,
          bookingProviderId: '7',
        },
      },
    });
    targets.push(company.id);
  }
  const job = {
    companyId: referrer.id,
    technicianId: technician.id,
    homeowner: { firstName: 'Jane', lastName: 'Doe', phone: '(512) 555-0147', email: 'jane.doe@example.com' },
    address: { street: '500 Congress Ave', city: 'Austin', state: 'TX', zip: '78701' },
    summary: 'Breaker trips when the dryer runs',
    trade: 'electrical',
  };
  return {
    explicit: JSON.stringify({ ...job, targetCompanyIds: targets }),
    // The same 5 receive it by the routing rules: they take electrical work and serve every ZIP.
    byRules: JSON.stringify(job),
  };
}

/**
 * Grows the network straight in the database. First to 10 companies: the referrer, the 5 receivers and 4 near
 * misses in the job's ZIP 78701 (inactive; no connection; only another trade; electrical but other ZIPs). Then to
 * 10,000: the network grows elsewhere, 9,990 companies serving 1 to 3 of 80,000 other ZIPs, of every trade or one
 * or two (electrical among them for a third), 5% inactive, 5% without a connection, and 1% of another trade serving
 * every ZIP. Connections are copied from a receiver's. Then ANALYZE, as autovacuum would.
 */
async function growNetwork(size: 'small' | 'large'): Promise<number> {
  const db = await pgClient(dbUrl(DB));
  try {
    const spec =
      size === 'small'
        ? `SELECT i, CASE i WHEN 3 THEN ARRAY['plumbing'] ELSE ARRAY['electrical'] END AS trades,
                  CASE i WHEN 4 THEN ARRAY['78702', '78703'] ELSE ARRAY['78701'] END AS zips,
                  i <> 1 AS active, i <> 2 AS connected
             FROM generate_series(1, 4) i`
        : `SELECT i,
                  CASE WHEN i % 100 = 0 THEN ARRAY['roofing']
                       ELSE CASE i % 6 WHEN 0 THEN '{}'::text[] WHEN 1 THEN ARRAY['electrical']
                                       WHEN 2 THEN ARRAY['plumbing'] WHEN 3 THEN ARRAY['hvac', 'electrical']
                                       WHEN 4 THEN ARRAY['roofing', 'plumbing'] ELSE ARRAY['hvac'] END END AS trades,
                  CASE WHEN i % 100 = 0 THEN '{}'::text[]
                       ELSE (SELECT array_agg(lpad((10000 + (i * 7919 + k * 104729) % 60000)::text, 5, '0'))
                               FROM generate_series(0, i % 3) k) END AS zips,
                  i % 20 <> 7 AS active, i % 20 <> 11 AS connected
             FROM generate_series(1, ${NETWORK.large - NETWORK.small}) i`;
    await db.query(
      `WITH spec AS (${spec}), added AS (
         INSERT INTO companies (name, trades, service_area_zips, is_active)
         SELECT 'Network ${size} ' || i, trades, zips, active FROM spec
         RETURNING id, name
       )
       INSERT INTO connections (company_id, provider_type, status, credentials)
       SELECT a.id, src.provider_type, 'active', src.credentials
         FROM added a JOIN spec ON 'Network ${size} ' || spec.i = a.name,
              (SELECT provider_type, credentials FROM connections WHERE status = 'active' LIMIT 1) src
        WHERE spec.connected`,
    );
    await db.query('ANALYZE companies; ANALYZE connections');
    const [{ n }] = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM companies')).rows;
    return n;
  } finally {
    await db.end();
  }
}

async function measure(name: string, options: autocannon.Options, serverPid: number): Promise<Row> {
  await autocannon({ ...options, connections: CONNECTIONS, duration: WARMUP_SECONDS });
  const cpuBefore = processCpuMs(serverPid);
  const started = process.hrtime.bigint();
  const r = await autocannon({ ...options, connections: CONNECTIONS, duration: durationSeconds });
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  const cpuMs = processCpuMs(serverPid) - cpuBefore;
  return {
    name,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    cpuMs: r.requests.total ? cpuMs / r.requests.total : 0,
    cpuPercent: (cpuMs / elapsedMs) * 100,
  };
}

function print(rows: Row[]): void {
  const pad = (v: string | number, n: number) => String(v).padStart(n);
  const columns = ['req/s', 'p50 ms', 'p99 ms', 'requests', 'non-2xx', 'errors', 'CPU ms/req', 'CPU %'];
  const widths = [9, 8, 8, 10, 9, 8, 12, 7];
  console.log(`\n${'scenario'.padEnd(34)}${columns.map((c, i) => pad(c, widths[i])).join('')}`);
  for (const r of rows) {
    const cells = [
      r.rps.toFixed(0),
      r.p50,
      r.p99,
      r.requests,
      r.non2xx,
      r.errors,
      r.cpuMs.toFixed(2),
      r.cpuPercent.toFixed(0),
    ];
    console.log(`${r.name.padEnd(34)}${cells.map((c, i) => pad(c, widths[i])).join('')}`);
  }
}

async function main(): Promise<void> {
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
  const loadAtStart = load();
  assertBuilt();
  const reference = withReference && !only ? await measureNodeHttp() : null;
  await recreateDatabase(DB);
  await flushRedis(REDIS_URL);
  const harness = new Harness('jobs');
  const profileDir = profile ? mkdtempSync(join(tmpdir(), 'te-bench-jobs-profile-')) : null;
  const lines: string[] = [];
  const results: Parameters<typeof reportResult>[0][] = [];
  const rows: Row[] = reference ? [reference] : [];
  let failed = false;
  try {
    await harness.migrate(dbUrl(DB));
    const sandbox = await harness.startSandbox(); // not called in api mode, but the service must have a provider URL
    const service = await harness.startService(
      'api',
      serviceEnv({
        mode: 'api',
        databaseUrl: dbUrl(DB),
        redisUrl: REDIS_URL,
        sandboxUrl: sandbox.url,
      }),
      profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
    );
    const base = service.url;
    console.log(`service (compiled, api mode, pid ${service.pid}) ready on ${base}`);
    const bodies = await seed(new Api(base));
    console.log(
      `measuring: ${WARMUP_SECONDS} s warm-up + ${durationSeconds} s at ${CONNECTIONS} connections per scenario`,
    );
    const post = (name: string, body: string) =>
      measure(
        name,
        {
          url: `${base}/api/jobs`,
          method: 'POST',
          headers: { authorization: `Bearer ${BENCH_ADMIN_KEY}`, 'content-type': 'application/json' },
          body,
        },
        service.pid,
      );

    const get = runs('get')
      ? await measure('GET /api/health/live', { url: `${base}/api/health/live` }, service.pid)
      : null;
    const explicit = runs('post') ? await post('POST /api/jobs (5 targets)', bodies.explicit) : null;
    let small: Row | null = null;
    let large: Row | null = null;
    if (runs('network')) {
      const smallSize = await growNetwork('small');
      small = await post(`POST /api/jobs by rules, ${smallSize} cos`, bodies.byRules);
      const largeSize = await growNetwork('large');
      large = await post(`POST /api/jobs by rules, ${largeSize} cos`, bodies.byRules);
    }
    rows.push(...[get, explicit, small, large].filter((r): r is Row => r !== null));

    if (get && explicit) {
      const ratio = explicit.rps / get.rps;
      lines.push(
        `POST/GET ratio: ${ratio.toFixed(3)} (${explicit.rps.toFixed(0)} vs ${get.rps.toFixed(0)} req/s; target ≥ ${TARGET.ratio})   ` +
          `reference D2/B (perf-baseline.md): ${BASELINE.post}/${BASELINE.get} = ${(BASELINE.post / BASELINE.get).toFixed(3)}`,
      );
      lines.push(`this run / reference ratio: ${(ratio / (BASELINE.post / BASELINE.get)).toFixed(2)}x`);
      lines.push(
        `CPU per request POST/GET: ${(explicit.cpuMs / get.cpuMs).toFixed(1)}x   baseline D2/B: ${(BASELINE.postCpuMs / BASELINE.getCpuMs).toFixed(1)}x`,
      );
      results.push({
        measure: 'POST /api/jobs ÷ GET /api/health/live',
        now: `${ratio.toFixed(3)} (${explicit.rps.toFixed(0)} vs ${get.rps.toFixed(0)} req/s)`,
        target: `≥ ${TARGET.ratio}`,
        met: ratio >= TARGET.ratio,
      });
    }
    if (explicit) {
      results.push({
        measure: 'service CPU per POST /api/jobs',
        now: `${explicit.cpuMs.toFixed(2)} ms`,
        target: `≤ ${TARGET.postCpuMs} ms`,
        met: explicit.cpuMs <= TARGET.postCpuMs,
      });
    }
    if (get) {
      results.push({
        measure: 'CPU of GET /api/health/live',
        now: `${get.cpuMs.toFixed(3)} ms`,
        target: `≤ ${TARGET.getCpuMs} ms`,
        met: get.cpuMs <= TARGET.getCpuMs,
      });
    }
    if (small && large) {
      const rpsRatio = large.rps / small.rps;
      lines.push(
        `POST by rules at ${NETWORK.large} ÷ at ${NETWORK.small} companies: ${rpsRatio.toFixed(2)} req/s ` +
          `(${large.rps.toFixed(0)} vs ${small.rps.toFixed(0)}; target ≥ ${TARGET.networkRatio}), CPU/POST ` +
          `${large.cpuMs.toFixed(2)} vs ${small.cpuMs.toFixed(2)} ms (${(large.cpuMs / small.cpuMs).toFixed(2)}x)`,
      );
      results.push({
        measure: 'POST /api/jobs at 10,000 companies ÷ at 10',
        now: `${rpsRatio.toFixed(2)} req/s (CPU/POST ${(large.cpuMs / small.cpuMs).toFixed(2)}x)`,
        target: `≥ ${TARGET.networkRatio}`,
        met: rpsRatio >= TARGET.networkRatio,
      });
    }
    if (reference) {
      const scaled = (rps: number, baseline: number) =>
        `${(rps / reference.rps).toFixed(3)} (baseline ${(baseline / BASELINE.nodeHttp).toFixed(3)})`;
      if (get && explicit)
        lines.push(
          `scaled by this run's node:http: GET ${scaled(get.rps, BASELINE.get)}, POST ${scaled(explicit.rps, BASELINE.post)}`,
        );
      lines.push(`machine speed vs the baseline's (A/A): ${(reference.rps / BASELINE.nodeHttp).toFixed(2)}x`);
    }

    const db = await pgClient(dbUrl(DB));
    const [{ jobs, routings }] = (
      await db.query<{ jobs: number; routings: number }>(
        'SELECT (SELECT count(*)::int FROM jobs) AS jobs, (SELECT count(*)::int FROM routings) AS routings',
      )
    ).rows;
    await db.end();
    if (rows.some((r) => r.non2xx || r.errors)) {
      failed = true;
      console.log(`\nWARNING: non-2xx responses or errors; the service's last output:\n${harness.logTail('api', 60)}`);
    }
    // The ratio lines first, then the table and the rest.
    console.log(lines.join('\n'));
    print(rows);
    console.log(
      `\n${cpus().length} CPUs, load average ${loadAtStart} at the start, ${load()} at the end ` +
        `(the baseline machine: 2 vCPUs, nothing else running)`,
    );
    console.log(
      `stored: ${jobs} jobs, ${routings} routings (warm-up included; ${(routings / Math.max(jobs, 1)).toFixed(1)} per job)`,
    );
    for (const result of results) reportResult(result);
  } finally {
    await harness.stopAll();
    await flushRedis(REDIS_URL);
    console.log('service stopped');
  }
  if (profileDir) printProfile(profileDir);
  if (failed) process.exitCode = 1;
}

/** The service's CPU profile (written at its exit): self time by function and by package, top entries. */
function printProfile(dir: string): void {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return console.log(`no CPU profile in ${dir}`);
  const prof = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
    nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const byPackage = new Map<string, number>();
  let total = 0;
  prof.samples.forEach((id, i) => {
    const dt = prof.timeDeltas[i] ?? 0;
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') return;
    total += dt;
    const where = url.replace(/^file:\/\//, '').replace(/^.*node_modules\//, 'node_modules/');
    const name = `${functionName || '(anonymous)'} ${where.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
    self.set(name, (self.get(name) ?? 0) + dt);
    const pkg = where.startsWith('node_modules/')
      ? where
          .split('/')
          .slice(1, where.split('/')[1].startsWith('@') ? 3 : 2)
          .join('/')
      : where.includes('/dist/src/')
        ? `src/${where.split('/dist/src/')[1].split('/')[0]}`
        : where.startsWith('node:')
          ? 'node internals'
          : functionName.startsWith('(')
            ? functionName
            : 'other';
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + dt);
  });
  const top = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => `  ${((v / total) * 100).toFixed(1).padStart(5)}%  ${k}`)
      .join('\n');
  console.log(`\nCPU profile ${join(dir, file)} (${(total / 1e6).toFixed(1)} s busy)`);
  console.log(`self time by package:\n${top(byPackage, 20)}`);
  console.log(`self time by function:\n${top(self, 30)}`);
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
