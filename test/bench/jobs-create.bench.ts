/**
 * POST /api/jobs (one job routed to 5 companies) against GET /api/health/live, on the real service.
 *
 *   npm run bench:jobs                   # builds, then measures the compiled service (dist/src/main.js)
 *   npm run bench:jobs -- --ts-node      # no build: the service runs under ts-node (transpile only)
 *   npm run bench:jobs -- --duration=20  # seconds per measured run (default 10)
 *   npm run bench:jobs -- --no-reference # skip the plain node:http reference (row A of the baseline)
 *
 * The service is a separate process in `api` mode, on a fresh `tradeengage_bench` database and Redis
 * logical database 6, stopped by its PID at the end. Compare the POST/GET ratio with perf-baseline.md
 * (D2/B: a Nest-Express validate + 1 job + 5 routings transaction over a Nest-Express hello), not the
 * absolute numbers: they depend on the machine and on autocannon sharing its CPU. As perf-baseline.md asks,
 * a plain node:http hello (row A) is measured in the same run, so each figure can also be scaled by it.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AddressInfo, createServer } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import autocannon from 'autocannon';
import Redis from 'ioredis';
import { Client } from 'pg';

const ROOT = join(__dirname, '..', '..');
const DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/tradeengage_bench';
const REDIS_URL = 'redis://127.0.0.1:6379/6';
const ADMIN_KEY = `te_bench_${randomBytes(12).toString('hex')}`;
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
const useTsNode = args.includes('--ts-node');
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
  cpuMs: number | null;
  /** Server CPU over the measured run, % of one core. */
  cpuPercent: number | null;
}

/** utime + stime of a process in seconds, from /proc/<pid>/stat (null where there is none). 100 ticks/s on Linux. */
function cpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function freshDatabase(): Promise<void> {
  const url = new URL(DATABASE_URL);
  const name = url.pathname.slice(1);
  url.pathname = '/postgres';
  const admin = new Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
  // The service creates it again and applies the migrations (RUN_MIGRATIONS=true).
}

async function flushRedis(): Promise<void> {
  const redis = new Redis(REDIS_URL);
  await redis.flushdb();
  await redis.quit();
}

function build(): void {
  console.log('building (npm run build)...');
  const result = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('npm run build failed; fix it, or run with --ts-node');
}

function startService(port: number): { child: ChildProcess; output: () => string } {
  const entry = useTsNode
    ? ['-r', 'ts-node/register', join(ROOT, 'src', 'main.ts')]
    : [join(ROOT, 'dist', 'src', 'main.js')];
  const child = spawn(process.execPath, entry, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      TS_NODE_TRANSPILE_ONLY: 'true',
      NODE_ENV: 'production',
      APP_MODE: 'api',
      PORT: String(port),
      DATABASE_URL,
      REDIS_URL,
      RUN_MIGRATIONS: 'true',
      SANDBOX: 'false',
      ADMIN_API_KEY: ADMIN_KEY,
      CREDENTIALS_KEY: randomBytes(32).toString('base64'),
      LOG_LEVEL: 'warn',
      API_RATE_LIMIT_PER_MINUTE: '100000000',
    },
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  return { child, output: () => output };
}

async function waitReady(base: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode}:\n${output()}`);
    try {
      if ((await fetch(`${base}/api/health/ready`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  throw new Error(`the service was not ready within 90 s:\n${output()}`);
}

async function stopService(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(
    () => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, 'SIGKILL'),
    10_000,
  );
  await exited;
  clearTimeout(timer);
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
    return await measure('GET node:http hello (reference A)', { url: `http://127.0.0.1:${port}/` }, child.pid);
  } finally {
    await stopService(child);
  }
}

async function api<T>(base: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as T;
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** A referring company with a technician and 5 receiving companies on ServiceTitan; returns the job body. */
async function seed(base: string): Promise<string> {
  const referrer = await api<{ id: string }>(base, 'POST', '/api/companies', {
    name: 'Bench Plumbing',
    trades: ['plumbing'],
  });
  const technician = await api<{ id: string }>(base, 'POST', `/api/companies/${referrer.id}/technicians`, {
    firstName: 'Pat',
    lastName: 'Pipes',
    phone: '512-555-0100',
  });
  const targets: string[] = [];
  for (let i = 0; i < 5; i++) {
    const company = await api<{ id: string }>(base, 'POST', '/api/companies', {
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

async function measure(name: string, options: autocannon.Options, serverPid: number | undefined): Promise<Row> {
  await autocannon({ ...options, connections: CONNECTIONS, duration: WARMUP_SECONDS });
  const cpuBefore = cpuSeconds(serverPid);
  const started = process.hrtime.bigint();
  const r = await autocannon({ ...options, connections: CONNECTIONS, duration: durationSeconds });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const cpuAfter = cpuSeconds(serverPid);
  const cpu = cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore;
  return {
    name,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    cpuMs: cpu === null || !r.requests.total ? null : (cpu * 1000) / r.requests.total,
    cpuPercent: cpu === null ? null : (cpu / elapsed) * 100,
  };
}

function print(rows: Row[]): void {
  const pad = (v: string | number, n: number) => String(v).padStart(n);
  const fixed = (v: number | null, digits: number) => (v === null ? '-' : v.toFixed(digits));
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
      fixed(r.cpuMs, 2),
      fixed(r.cpuPercent, 0),
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
  if (!useTsNode) build();
  const reference = withReference ? await measureNodeHttp() : null;
  await freshDatabase();
  await flushRedis();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const { child, output } = startService(port);
  const stop = () => void stopService(child).finally(() => process.exit(130));
  process.once('SIGINT', stop);
  try {
    await waitReady(base, child, output);
    console.log(`service (${useTsNode ? 'ts-node' : 'compiled'}, api mode, pid ${child.pid}) ready on ${base}`);
    const jobBody = await seed(base);
    console.log(
      `measuring: ${WARMUP_SECONDS} s warm-up + ${durationSeconds} s at ${CONNECTIONS} connections per scenario`,
    );

    const get = await measure('GET /api/health/live', { url: `${base}/api/health/live` }, child.pid);
    const post = await measure(
      'POST /api/jobs (5 targets)',
      {
        url: `${base}/api/jobs`,
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        body: jobBody,
      },
      child.pid,
    );
    print(reference ? [reference, get, post] : [get, post]);

    const ratio = post.rps / get.rps;
    console.log(
      `\nPOST/GET ratio: ${ratio.toFixed(3)}   reference D2/B (perf-baseline.md): ${BASELINE.post}/${BASELINE.get} = ${(BASELINE.post / BASELINE.get).toFixed(3)}`,
    );
    console.log(`this run / reference ratio: ${(ratio / (BASELINE.post / BASELINE.get)).toFixed(2)}x`);
    if (get.cpuMs !== null && post.cpuMs !== null) {
      console.log(
        `CPU per request POST/GET: ${(post.cpuMs / get.cpuMs).toFixed(1)}x   baseline D2/B: ${(BASELINE.postCpuMs / BASELINE.getCpuMs).toFixed(1)}x`,
      );
    }
    if (reference) {
      const scaled = (rps: number, baseline: number) =>
        `${(rps / reference.rps).toFixed(3)} (baseline ${(baseline / BASELINE.nodeHttp).toFixed(3)})`;
      console.log(
        `scaled by this run's node:http: GET ${scaled(get.rps, BASELINE.get)}, POST ${scaled(post.rps, BASELINE.post)}`,
      );
      console.log(`machine speed vs the baseline's (A/A): ${(reference.rps / BASELINE.nodeHttp).toFixed(2)}x`);
    }

    console.log(`load average at the end: ${load()}`);
    const db = new Client({ connectionString: DATABASE_URL });
    await db.connect();
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
      console.log(`\nWARNING: non-2xx responses; the service's last output:\n${output().slice(-4000)}`);
      process.exitCode = 1;
    }
  } finally {
    process.removeListener('SIGINT', stop);
    await stopService(child);
    await flushRedis();
    console.log(`service (pid ${child.pid}) stopped`);
  }
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
