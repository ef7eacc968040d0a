/**
 * POST /api/jobs (one job routed to 5 companies) against GET /api/health/live, on the real service.
 *
 *   npm run bench:jobs                   # builds, then measures the compiled service (dist/src/main.js)
 *   npm run bench:jobs -- --duration=20  # seconds per measured run (default 10)
 *   npm run bench:jobs -- --no-reference # skip the plain node:http reference (row A of the baseline)
 *
 * The service is a separate process in `api` mode (test/bench/lib/harness.ts), on a fresh
 * `tradeengage_bench_jobs` database and Redis logical database 13, stopped by its PID at the end. Compare the POST/GET ratio with perf-baseline.md
 * (D2/B: a Nest-Express validate + 1 job + 5 routings transaction over a Nest-Express hello), not the
 * absolute numbers: they depend on the machine and on autocannon sharing its CPU. As perf-baseline.md asks,
 * a plain node:http hello (row A) is measured in the same run, so each figure can also be scaled by it.
 */
import { spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';

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

const DB = 'tradeengage_bench_jobs';
const REDIS_URL = 'redis://127.0.0.1:6379/13';
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

/** A referring company with a technician and 5 receiving companies on ServiceTitan; returns the job body. */
async function seed(api: Api): Promise<string> {
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
  return JSON.stringify({
    companyId: referrer.id,
    technicianId: technician.id,
    homeowner: { firstName: 'Jane', lastName: 'Doe', phone: '(512) 555-0147', email: 'jane.doe@example.com' },
    address: { street: '500 Congress Ave', city: 'Austin', state: 'TX', zip: '78701' },
    summary: 'Breaker trips when the dryer runs',
    trade: 'electrical',
    targetCompanyIds: targets,
  });
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
  console.log(`${cpus().length} CPUs, load average ${load()} (the baseline machine: 2 vCPUs, nothing else running)`);
  assertBuilt();
  const reference = withReference ? await measureNodeHttp() : null;
  await recreateDatabase(DB);
  await flushRedis(REDIS_URL);
  const harness = new Harness('jobs');
  try {
    await harness.migrate(dbUrl(DB));
    const sandbox = await harness.startSandbox(); // not called in api mode, but the service must have a provider URL
    const service = await harness.startService(
      'api',
      serviceEnv({ mode: 'api', databaseUrl: dbUrl(DB), redisUrl: REDIS_URL, sandboxUrl: sandbox.url }),
    );
    const base = service.url;
    console.log(`service (compiled, api mode, pid ${service.pid}) ready on ${base}`);
    const jobBody = await seed(new Api(base));
    console.log(
      `measuring: ${WARMUP_SECONDS} s warm-up + ${durationSeconds} s at ${CONNECTIONS} connections per scenario`,
    );

    const get = await measure('GET /api/health/live', { url: `${base}/api/health/live` }, service.pid);
    const post = await measure(
      'POST /api/jobs (5 targets)',
      {
        url: `${base}/api/jobs`,
        method: 'POST',
        headers: { authorization: `Bearer ${BENCH_ADMIN_KEY}`, 'content-type': 'application/json' },
        body: jobBody,
      },
      service.pid,
    );
    print(reference ? [reference, get, post] : [get, post]);

    const ratio = post.rps / get.rps;
    console.log(
      `\nPOST/GET ratio: ${ratio.toFixed(3)}   reference D2/B (perf-baseline.md): ${BASELINE.post}/${BASELINE.get} = ${(BASELINE.post / BASELINE.get).toFixed(3)}`,
    );
    console.log(`this run / reference ratio: ${(ratio / (BASELINE.post / BASELINE.get)).toFixed(2)}x`);
    console.log(
      `CPU per request POST/GET: ${(post.cpuMs / get.cpuMs).toFixed(1)}x   baseline D2/B: ${(BASELINE.postCpuMs / BASELINE.getCpuMs).toFixed(1)}x`,
    );
    if (reference) {
      const scaled = (rps: number, baseline: number) =>
        `${(rps / reference.rps).toFixed(3)} (baseline ${(baseline / BASELINE.nodeHttp).toFixed(3)})`;
      console.log(
        `scaled by this run's node:http: GET ${scaled(get.rps, BASELINE.get)}, POST ${scaled(post.rps, BASELINE.post)}`,
      );
      console.log(`machine speed vs the baseline's (A/A): ${(reference.rps / BASELINE.nodeHttp).toFixed(2)}x`);
    }

    console.log(`load average at the end: ${load()}`);
    const db = await pgClient(dbUrl(DB));
    const [{ jobs, routings }] = (
      await db.query<{ jobs: number; routings: number }>(
        'SELECT (SELECT count(*)::int FROM jobs) AS jobs, (SELECT count(*)::int FROM routings) AS routings',
      )
    ).rows;
    await db.end();
    console.log(
      `stored: ${jobs} jobs, ${routings} routings (warm-up included; ${(routings / Math.max(jobs, 1)).toFixed(1)} per job)`,
    );
    if (post.non2xx || get.non2xx) {
      console.log(`\nWARNING: non-2xx responses; the service's last output:\n${harness.logTail('api', 60)}`);
      process.exitCode = 1;
    }
  } finally {
    await harness.stopAll();
    await flushRedis(REDIS_URL);
    console.log('service stopped');
  }
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
