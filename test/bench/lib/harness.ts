/**
 * Shared plumbing for the service benchmarks in test/bench: a fresh database and Redis logical database per
 * benchmark, the provider sandbox and the service as separate processes from the compiled build (dist/), and
 * small helpers (HTTP client, percentiles, network setup). Everything binds to 127.0.0.1; every child process
 * is stopped by its own PID when the benchmark ends.
 */
import { ChildProcess, execSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import Redis from 'ioredis';
import { Client } from 'pg';

import { SandboxControl } from '../../../src/sandbox/sandbox-control.client';

export const ROOT = resolve(__dirname, '../../..');
export const PG_BASE = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
export const BENCH_ADMIN_KEY = 'te_bench_admin_key_0123456789abcdef';
/** A cron that never fires during a benchmark (midnight, 1 January). */
export const FAR_CRON = '0 0 1 1 *';
export const GENEROUS_RATE_LIMITS = JSON.stringify({
  servicetitan: { perMinute: 1_000_000, perHour: 60_000_000, burst: 100_000 },
  housecallpro: { perMinute: 1_000_000, perHour: 60_000_000, burst: 100_000 },
  jobber: { perMinute: 1_000_000, perHour: 60_000_000, burst: 100_000 },
});

export const dbUrl = (name: string) => `${PG_BASE}/${name}`;

export function assertBuilt(): void {
  for (const file of ['dist/src/main.js', 'dist/src/sandbox/main.js', 'dist/src/database/migrate.js']) {
    if (!existsSync(join(ROOT, file))) throw new Error(`${file} is missing: run \`npm run build\` first`);
  }
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const server = createServer();
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => res(port));
    });
  });
}

/** Drops and creates a benchmark database (only names starting with tradeengage_bench_ or ending in _bench). */
export async function recreateDatabase(name: string): Promise<void> {
  if (!/^(tradeengage_bench_[a-z0-9_]+|[a-z][a-z0-9_]*_bench)$/.test(name))
    throw new Error(`refusing to recreate database ${name}`);
  const admin = new Client({ connectionString: `${PG_BASE}/postgres` });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
}

/** Empties a Redis logical database reserved for benchmarks (13, 14 or 15, or the one BENCH_REDIS_URL names). */
export async function flushRedis(url: string): Promise<void> {
  const db = Number(new URL(url).pathname.slice(1));
  if (![13, 14, 15].includes(db) && url !== process.env.BENCH_REDIS_URL) {
    throw new Error(`refusing to flush Redis db ${db}: benchmarks use 13-15 (or BENCH_REDIS_URL)`);
  }
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  await redis.flushdb();
  await redis.quit();
}

export function redisConnection(url: string) {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || 6379), db: Number(u.pathname.slice(1) || 0) };
}

export function pct(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export const median = (values: number[]) => pct(values, 50);
export const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : String(n));

export function summary(values: number[]): string {
  return `n=${values.length} p50=${fmt(pct(values, 50))} p90=${fmt(pct(values, 90))} p99=${fmt(pct(values, 99))} max=${fmt(Math.max(...values))} ms`;
}

export function machineLine(): string {
  const [one, five] = loadavg();
  return `node ${process.version}; load average ${one.toFixed(2)} (1 min) ${five.toFixed(2)} (5 min)`;
}

const CLK_TCK = (() => {
  try {
    return Number(execSync('getconf CLK_TCK').toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system) of one process so far, in ms; 0 if it is gone. */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** PostgreSQL backends serving `database` (their process title names it). */
export function postgresBackends(database: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.startsWith('postgres: ') && cmd.split(' ').includes(database)) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

function machineTicks(): { busy: number; total: number } {
  const [, ...v] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const n = v.slice(0, 8).map(Number);
  const total = n.reduce((a, b) => a + b, 0);
  return { busy: total - n[3] - n[4], total };
}

/**
 * CPU accounting over a stretch of a benchmark: our processes, the PostgreSQL backends of our database, and the
 * whole machine, so interference from other work on the same cores shows up in the figures.
 */
export class CpuMeter {
  private readonly startMs = Date.now();
  private readonly startMachine = machineTicks();
  private readonly start = new Map<number, number>();

  constructor(
    private readonly procs: { name: string; pid: number }[],
    private readonly database: string,
  ) {
    for (const p of procs) this.start.set(p.pid, processCpuMs(p.pid));
    for (const pid of postgresBackends(database)) this.start.set(pid, processCpuMs(pid));
    this.start.set(process.pid, processCpuMs(process.pid));
  }

  report(perUnit?: { count: number; unit: string }): string[] {
    const wallMs = Date.now() - this.startMs;
    const machine = machineTicks();
    const cores = Number(execSync('nproc').toString().trim()) || 1;
    const share = (busyTicks: number, totalTicks: number) => (busyTicks / totalTicks) * cores * 100;
    const used = (pid: number) => processCpuMs(pid) - (this.start.get(pid) ?? 0);
    const rows = this.procs.map((p) => ({ name: p.name, ms: used(p.pid) }));
    rows.push({
      name: 'postgres backends (this db)',
      ms: postgresBackends(this.database).reduce((n, pid) => n + used(pid), 0),
    });
    rows.push({ name: 'benchmark process', ms: used(process.pid) });
    const ours = rows.reduce((n, r) => n + r.ms, 0);
    const machinePct = share(machine.busy - this.startMachine.busy, machine.total - this.startMachine.total);
    const oursPct = (ours / wallMs) * 100;
    return [
      `CPU over ${(wallMs / 1000).toFixed(1)} s: ` +
        rows
          .map(
            (r) =>
              `${r.name} ${(r.ms / 1000).toFixed(1)} s${perUnit ? ` (${(r.ms / perUnit.count).toFixed(1)} ms/${perUnit.unit})` : ''}`,
          )
          .join(', '),
      `machine busy ${machinePct.toFixed(0)}% of ${cores * 100}%; ours (listed above, without Redis) ${oursPct.toFixed(0)}%; ` +
        `everything else on the machine (Redis, other work) ${Math.max(0, machinePct - oursPct).toFixed(0)}%`,
    ];
  }
}

export interface ServiceProcess {
  name: string;
  url: string;
  port: number;
  pid: number;
}

interface Child {
  name: string;
  proc: ChildProcess;
  logFile: string;
}

/** Owns the benchmark's child processes and log directory; `stopAll` ends them by PID. */
export class Harness {
  readonly logDir: string;
  private readonly children: Child[] = [];

  constructor(readonly name: string) {
    this.logDir = mkdtempSync(join(tmpdir(), `te-bench-${name}-`));
    const onSignal = (signal: NodeJS.Signals) => {
      void this.stopAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    process.once('exit', () => {
      for (const c of this.children) if (c.proc.exitCode === null && c.proc.pid) safeKill(c.proc.pid, 'SIGKILL');
    });
  }

  private spawnNode(name: string, args: string[], env: NodeJS.ProcessEnv): Child {
    const logFile = join(this.logDir, `${name}.log`);
    const out = createWriteStream(logFile);
    const proc = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout?.pipe(out);
    proc.stderr?.pipe(out);
    const child = { name, proc, logFile };
    this.children.push(child);
    return child;
  }

  logTail(name: string, lines = 30): string {
    const child = this.children.find((c) => c.name === name);
    if (!child || !existsSync(child.logFile)) return '';
    return readFileSync(child.logFile, 'utf8').split('\n').slice(-lines).join('\n');
  }

  /** Applies the migrations with the explicit production step (`node dist/src/database/migrate.js`). */
  async migrate(databaseUrl: string): Promise<void> {
    const child = this.spawnNode('migrate', ['dist/src/database/migrate.js'], {
      ...baseEnv(),
      DATABASE_URL: databaseUrl,
    });
    const code = await new Promise<number | null>((res) => child.proc.once('exit', res));
    if (code !== 0) throw new Error(`migrations failed (exit ${code}):\n${this.logTail('migrate')}`);
  }

  /** The standalone sandbox (`node dist/src/sandbox/main.js`), auto-lifecycle switched off. */
  async startSandbox(): Promise<{ url: string; control: SandboxControl; pid: number }> {
    const port = await freePort();
    const child = this.spawnNode('sandbox', ['dist/src/sandbox/main.js'], { ...baseEnv(), SANDBOX_PORT: String(port) });
    const url = `http://127.0.0.1:${port}`;
    const control = new SandboxControl(url);
    await this.waitFor(child, async () => {
      await control.getOptions();
      return true;
    });
    await control.setOptions({ autoLifecycle: false });
    return { url, control, pid: child.proc.pid as number };
  }

  /** One service process from the build, bound to 127.0.0.1 by the loopback preload; `nodeArgs` e.g. --cpu-prof. */
  async startService(name: string, env: Record<string, string>, nodeArgs: string[] = []): Promise<ServiceProcess> {
    const port = await freePort();
    const child = this.spawnNode(name, [...nodeArgs, '-r', './test/bench/lib/loopback.js', 'dist/src/main.js'], {
      ...baseEnv(),
      ...env,
      PORT: String(port),
    });
    const url = `http://127.0.0.1:${port}`;
    await this.waitFor(child, async () => (await fetch(`${url}/api/health/live`)).ok);
    return { name, url, port, pid: child.proc.pid as number };
  }

  private async waitFor(child: Child, probe: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.proc.exitCode !== null)
        throw new Error(`${child.name} exited with ${child.proc.exitCode}:\n${this.logTail(child.name)}`);
      if (await probe().catch(() => false)) return;
      await sleep(100);
    }
    throw new Error(`${child.name} did not become ready in ${timeoutMs} ms:\n${this.logTail(child.name)}`);
  }

  /** SIGTERM to each child by PID (they drain), SIGKILL after `graceMs`. */
  async stopAll(graceMs = 15_000): Promise<void> {
    const running = this.children.filter((c) => c.proc.exitCode === null && c.proc.signalCode === null && c.proc.pid);
    await Promise.all(
      running.map(async (c) => {
        const exited = new Promise<void>((res) => c.proc.once('exit', () => res()));
        safeKill(c.proc.pid as number, 'SIGTERM');
        const timer = setTimeout(() => safeKill(c.proc.pid as number, 'SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}

function safeKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** The parent's environment minus every variable the service reads, so nothing leaks into a benchmark. */
function baseEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  const serviceVars = [
    'NODE_ENV',
    'APP_MODE',
    'PORT',
    'DATABASE_URL',
    'REDIS_URL',
    'RUN_MIGRATIONS',
    'ADMIN_API_KEY',
    'CREDENTIALS_KEY',
    'SANDBOX',
    'SANDBOX_PORT',
    'SERVICETITAN_AUTH_URL',
    'SERVICETITAN_API_URL',
    'SERVICETITAN_APP_KEY',
    'HOUSECALLPRO_API_URL',
    'PROVIDER_TIMEOUT_MS',
    'SYNC_CRON',
    'POLL_CRON',
    'RETRY_CRON',
    'CLEANUP_CRON',
    'SYNC_BATCH_SIZE',
    'POLL_BATCH_SIZE',
    'RETRY_BATCH_SIZE',
    'SYNC_CONCURRENCY',
    'POLL_CONCURRENCY',
    'MAX_SYNC_ATTEMPTS',
    'SYNC_JOB_TIMEOUT_MS',
    'RETRY_BASE_DELAY_MS',
    'RETRY_MAX_DELAY_MS',
    'ARCHIVE_AFTER_DAYS',
    'RATE_LIMITS',
    'API_RATE_LIMIT_PER_MINUTE',
    'LOG_LEVEL',
    'PUBLIC_BASE_URL',
    'PROVIDER_WEBHOOK_CONCURRENCY',
    'WEBHOOK_RETRY_DELAYS_MS',
    'WEBHOOK_TIMEOUT_MS',
    'WEBHOOK_ALLOW_PRIVATE_URLS',
    'WEBHOOK_CONCURRENCY',
    'WEBHOOK_SWEEP_CRON',
  ];
  for (const name of serviceVars) delete env[name];
  return env;
}

const CREDENTIALS_KEY = randomBytes(32).toString('base64');

/** Environment of a service process pointed at a benchmark database, Redis db and sandbox. */
export function serviceEnv(o: {
  mode: 'api' | 'worker' | 'all';
  databaseUrl: string;
  redisUrl: string;
  sandboxUrl: string;
  extra?: Record<string, string>;
}): Record<string, string> {
  return {
    NODE_ENV: 'development',
    APP_MODE: o.mode,
    DATABASE_URL: o.databaseUrl,
    REDIS_URL: o.redisUrl,
    RUN_MIGRATIONS: 'false',
    ADMIN_API_KEY: BENCH_ADMIN_KEY,
    CREDENTIALS_KEY,
    SANDBOX: 'false',
    SERVICETITAN_AUTH_URL: o.sandboxUrl,
    SERVICETITAN_API_URL: o.sandboxUrl,
    SERVICETITAN_APP_KEY: 'bench-app-key',
    HOUSECALLPRO_API_URL: o.sandboxUrl,
    SYNC_CRON: FAR_CRON,
    POLL_CRON: FAR_CRON,
    RETRY_CRON: FAR_CRON,
    CLEANUP_CRON: FAR_CRON,
    WEBHOOK_SWEEP_CRON: FAR_CRON,
    RATE_LIMITS: GENEROUS_RATE_LIMITS,
    API_RATE_LIMIT_PER_MINUTE: '10000000',
    LOG_LEVEL: 'warn',
    ...o.extra,
  };
}

export interface HttpResult<T = any> {
  status: number;
  body: T;
  at: number;
}

/** Minimal JSON client for the service API (admin key). */
export class Api {
  constructor(
    readonly baseUrl: string,
    private readonly key = BENCH_ADMIN_KEY,
  ) {}

  async request<T = any>(method: string, path: string, body?: unknown): Promise<HttpResult<T>> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${this.key}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const at = Date.now();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, at };
  }

  post<T = any>(path: string, body: unknown) {
    return this.request<T>('POST', path, body);
  }

  get<T = any>(path: string) {
    return this.request<T>('GET', path);
  }

  async expect<T = any>(method: string, path: string, status: number, body?: unknown): Promise<T> {
    const res = await this.request<T>(method, path, body);
    if (res.status !== status)
      throw new Error(`${method} ${path}: expected ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }
}

export interface Network {
  referrerId: string;
  technicianId: string;
  st?: { id: string; tenantId: string };
  hcp?: { id: string; apiKey: string };
}

/** A referring company with a technician, plus one ServiceTitan and/or one Housecall Pro receiving company. */
export async function createNetwork(api: Api, want: { st?: boolean; hcp?: boolean }, tag = 'bench'): Promise<Network> {
  const referrer = await api.expect('POST', '/api/companies', 201, { name: `${tag} referrer`, trades: ['plumbing'] });
  const tech = await api.expect('POST', `/api/companies/${referrer.id}/technicians`, 201, {
    firstName: 'Pat',
    lastName: 'Pipes',
    phone: '512-555-0100',
  });
  const network: Network = { referrerId: referrer.id, technicianId: tech.id };
  if (want.st) {
    const tenantId = String(700_000 + Math.floor(Math.random() * 100_000));
    const st = await api.expect('POST', '/api/companies', 201, {
      name: `${tag} ServiceTitan electric`,
      trades: ['electrical'],
      provider: {
        type: 'servicetitan',
        credentials: { tenantId, clientId: `cid.${tag}`, clientSecret: `cs.${tag}.secret`, bookingProviderId: '7' },
      },
    });
    network.st = { id: st.id, tenantId };
  }
  if (want.hcp) {
    const apiKey = `hcp_${tag}_${randomBytes(6).toString('hex')}`;
    const hcp = await api.expect('POST', '/api/companies', 201, {
      name: `${tag} Housecall Pro electric`,
      trades: ['electrical'],
      provider: { type: 'housecallpro', credentials: { apiKey } },
    });
    network.hcp = { id: hcp.id, apiKey };
  }
  return network;
}

/** A referral to exactly one company; `i` makes the homeowner unique (each HCP sync then creates its customer). */
export function jobBody(network: Network, targetCompanyId: string, i: number) {
  return {
    companyId: network.referrerId,
    technicianId: network.technicianId,
    targetCompanyIds: [targetCompanyId],
    homeowner: {
      firstName: 'Home',
      lastName: `Owner${i}`,
      phone: `(512) ${230 + (i % 600)}-${String(i % 10_000).padStart(4, '0')}`,
      email: `homeowner${i}@example.com`,
    },
    address: { street: `${100 + i} Congress Ave`, city: 'Austin', state: 'TX', zip: '78701' },
    summary: `Breaker trips when the dryer runs (#${i})`,
    trade: 'electrical',
  };
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) results[i] = await fn(items[i], i);
    }),
  );
  return results;
}

export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 250,
): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export async function pgClient(databaseUrl: string): Promise<Client> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  return client;
}

export function header(title: string, lines: string[]): void {
  console.log(`\n=== ${title} ===`);
  for (const line of lines) console.log(line);
}
