/**
 * The fault suite (`npm run test:faults`): one API and two worker processes of the compiled service
 * against the real PostgreSQL, the suite's own Redis and the provider sandbox with faults on, while
 * workers are SIGKILLed, Redis is restarted, one worker is drained with SIGTERM, and Redis is down
 * for 30 s with both workers SIGTERMed during it. Then faults go off, the system settles, and the
 * suite proves nothing was lost, duplicated or left stuck.
 *
 * An outbound webhook endpoint receives every event meanwhile from a receiver that fails 20% of deliveries (500) and
 * never answers 5% (the service's timeout): every event of every routing change must arrive at least once, with a
 * valid signature, and the duplicates are counted.
 *
 * Knobs (environment): FAULTS_JOBS (2000), FAULTS_CONCURRENCY (12), FAULTS_LOAD_SECONDS (150),
 * FAULTS_SETTLE_TIMEOUT_SECONDS (300), FAULTS_DATABASE_URL (postgres://postgres@127.0.0.1:5432/tradeengage_faults).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import Redis from 'ioredis';
import { Client } from 'pg';

import { Webhook } from 'standardwebhooks';

import { SandboxControl } from '../../src/sandbox/sandbox-control.client';
import { dropDatabase } from '../helpers/database';
import { WebhookReceiver } from '../helpers/webhook-receiver';
import { ApiLedger, CreatedJob, Outage, runLoad } from './api-ledger';
import { ManagedProcess, freePort, httpOk, stopAll, waitUntil } from './processes';

const ROOT = resolve(__dirname, '..', '..');
const ARTIFACTS = join(ROOT, 'test', 'artifacts', 'faults');
// A snapshot of the build the npm script just made: a rebuild of dist/ during the run cannot change what restarts run.
const BUILD = join(ARTIFACTS, 'dist');
const NODE = process.execPath;

const env = process.env;
const SETTINGS = {
  jobs: Number(env.FAULTS_JOBS ?? 2000),
  concurrency: Number(env.FAULTS_CONCURRENCY ?? 12),
  loadMs: Number(env.FAULTS_LOAD_SECONDS ?? 150) * 1000,
  settleTimeoutMs: Number(env.FAULTS_SETTLE_TIMEOUT_SECONDS ?? 300) * 1000,
  databaseUrl: env.FAULTS_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tradeengage_faults',
  /** Provider accounts per provider: a 429 cools a whole account down, so the load is spread over a few. */
  accountsPerProvider: 8,
  killEveryMs: 10_000,
  redisRestartAtMs: 50_000,
  redisDownMs: 4_000,
  sigtermAtMs: 95_000,
  /** A long Redis outage, with each worker SIGTERMed (and restarted) while it lasts. */
  outageAtMs: 110_000,
  outageMs: 30_000,
  outageSigtermsAfterMs: [8_000, 18_000],
  shutdownTimeoutMs: 10_000,
  /** The chaos lasts at least this long, and at least as long as the load. */
  chaosMinMs: 150_000,
  maxSyncAttempts: 50,
  /** The outbound receiver: share of deliveries answered 500, and of those never answered (a timeout). */
  receiverFailRate: 0.2,
  receiverHangRate: 0.05,
  webhookSettleTimeoutMs: 180_000,
};

/** What the sandbox injects on every provider API call while the chaos runs. */
const FAULTS = {
  servicetitan: {
    errorRate: 0.2,
    errorStatus: 503,
    rateLimitRate: 0.1,
    retryAfterSeconds: 1,
    latencyMs: { min: 20, max: 250 },
    timeoutAfterCreateRate: 0.05,
  },
  housecallpro: {
    errorRate: 0.2,
    errorStatus: 500,
    rateLimitRate: 0.1,
    retryAfterSeconds: 2,
    latencyMs: { min: 20, max: 250 },
    timeoutAfterCreateRate: 0.05,
  },
  // For Jobber the create that times out is `requestCreate`: the request is stored, no answer comes.
  jobber: {
    errorRate: 0.2,
    errorStatus: 502,
    rateLimitRate: 0.1,
    retryAfterSeconds: 1,
    latencyMs: { min: 20, max: 250 },
    timeoutAfterCreateRate: 0.05,
  },
} as const;

const SERVICE_ENV = {
  NODE_ENV: 'production',
  RUN_MIGRATIONS: 'false',
  SANDBOX: 'false',
  SERVICETITAN_APP_KEY: 'faults-app-key',
  MAX_SYNC_ATTEMPTS: String(SETTINGS.maxSyncAttempts),
  RETRY_BASE_DELAY_MS: '200',
  RETRY_MAX_DELAY_MS: '3000',
  PROVIDER_TIMEOUT_MS: '2000',
  SYNC_JOB_TIMEOUT_MS: '15000',
  SYNC_CRON: '*/5 * * * * *',
  RETRY_CRON: '*/5 * * * * *',
  CLEANUP_CRON: '*/10 * * * * *',
  POLL_CRON: '0 0 0 1 1 *',
  SYNC_BATCH_SIZE: '1000',
  RETRY_BATCH_SIZE: '1000',
  SYNC_CONCURRENCY: '20',
  RATE_LIMITS: JSON.stringify({
    servicetitan: { perMinute: 100_000, perHour: 10_000_000, burst: 1000 },
    housecallpro: { perMinute: 100_000, perHour: 10_000_000, burst: 1000 },
    jobber: { perMinute: 100_000, perHour: 10_000_000, burst: 1000 },
  }),
  API_RATE_LIMIT_PER_MINUTE: '1000000',
  SHUTDOWN_TIMEOUT_MS: String(SETTINGS.shutdownTimeoutMs),
  // Outbound webhooks: a short timeout and many short delays (13 attempts: a 25% failing receiver loses an event
  // to exhaustion about once in 10^8), the lost-job sweep every 5 s; the receiver listens on 127.0.0.1.
  WEBHOOK_TIMEOUT_MS: '1000',
  WEBHOOK_RETRY_DELAYS_MS: '200,500,1000,2000,3000,5000,5000,5000,5000,5000,5000,5000',
  WEBHOOK_SWEEP_CRON: '*/5 * * * * *',
  WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
  LOG_LEVEL: 'warn',
};

const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
const log = (message: string) => console.log(`[faults ${elapsed().padStart(6)}] ${message}`);

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

class Suite {
  readonly runId = randomBytes(3).toString('hex');
  readonly adminKey = `te_faults_admin_${randomBytes(12).toString('hex')}`;
  readonly outages: Outage[] = [];
  readonly checks: Check[] = [];
  readonly created = new Map<string, CreatedJob>();
  readonly counters = { sigkills: 0, skippedKills: 0, redisRestarts: 0, sigterms: 0, restarts: 0, outageSigterms: 0 };
  /** The SIGTERMs sent while Redis was down: how each process ended and how long it took. */
  readonly outageExits: { name: string; exit: string; ms: number }[] = [];
  readonly bootMs: number[] = [];
  drain: {
    exit: string;
    drainMs: number;
    inFlightAtSigterm: number;
    activityBefore: number | null;
    leftSyncing: number;
    rescued: number;
  } | null = null;

  redis!: ManagedProcess;
  sandbox!: ManagedProcess;
  receiver!: WebhookReceiver;
  webhookSecret = '';
  webhookSettleMs: number | null = null;
  api!: ManagedProcess;
  workers: { proc: ManagedProcess; port: number; upSince: number | null }[] = [];
  ledger!: ApiLedger;
  control!: SandboxControl;
  db!: Client;
  apiUrl = '';
  redisPort = 0;
  lastKillAt = 0;
  loadDone = false;
  settleMs: number | null = null;

  check(name: string, ok: boolean, detail: string): void {
    this.checks.push({ name, ok, detail });
    log(`${ok ? 'PASS' : 'FAIL'} ${name}: ${detail}`);
  }

  // ---------------------------------------------------------------- setup

  async setUp(): Promise<void> {
    rmSync(ARTIFACTS, { recursive: true, force: true });
    mkdirSync(ARTIFACTS, { recursive: true });
    cpSync(join(ROOT, 'dist'), BUILD, { recursive: true });

    await this.recreateDatabase();
    this.db = new Client({ connectionString: SETTINGS.databaseUrl });
    await this.db.connect();

    this.redisPort = await freePort();
    this.redis = this.process(
      'redis',
      'redis-server',
      ['--port', String(this.redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {},
    );
    await this.startRedis();

    const sandboxPort = await freePort();
    this.sandbox = this.process('sandbox', NODE, [join(BUILD, 'src/sandbox/main.js')], {
      SANDBOX_PORT: String(sandboxPort),
    });
    this.sandbox.start();
    const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
    await waitUntil('the sandbox', () => httpOk(`${sandboxUrl}/_sandbox`), 20_000);
    this.control = new SandboxControl(sandboxUrl);
    await this.control.setOptions({ autoLifecycle: false });

    this.receiver = await WebhookReceiver.start();
    this.receiver.answer = () => {
      const roll = Math.random();
      if (roll < SETTINGS.receiverHangRate) return { hang: true };
      if (roll < SETTINGS.receiverHangRate + SETTINGS.receiverFailRate) return { status: 500 };
      return { status: 204 };
    };

    const common = {
      ...SERVICE_ENV,
      DATABASE_URL: SETTINGS.databaseUrl,
      REDIS_URL: `redis://127.0.0.1:${this.redisPort}`,
      ADMIN_API_KEY: this.adminKey,
      CREDENTIALS_KEY: randomBytes(32).toString('base64'),
      SERVICETITAN_AUTH_URL: sandboxUrl,
      SERVICETITAN_API_URL: sandboxUrl,
      HOUSECALLPRO_API_URL: sandboxUrl,
      JOBBER_API_URL: sandboxUrl,
      JOBBER_CLIENT_ID: 'sandbox-jobber-client-id',
      JOBBER_CLIENT_SECRET: 'sandbox-jobber-client-secret',
    };
    const apiPort = await freePort();
    this.apiUrl = `http://127.0.0.1:${apiPort}`;
    Object.assign(common, { PUBLIC_BASE_URL: this.apiUrl });
    this.api = this.process('api', NODE, [join(BUILD, 'src/main.js')], {
      ...common,
      APP_MODE: 'api',
      PORT: String(apiPort),
    });
    for (const name of ['worker-1', 'worker-2']) {
      const port = await freePort();
      this.workers.push({
        proc: this.process(name, NODE, [join(BUILD, 'src/main.js')], {
          ...common,
          APP_MODE: 'worker',
          PORT: String(port),
        }),
        port,
        upSince: null,
      });
    }
    this.api.start();
    for (const w of this.workers) w.proc.start();
    await waitUntil('the API to be ready', () => httpOk(`${this.apiUrl}/api/health/ready`), 60_000);
    await Promise.all(this.workers.map((w) => this.waitForWorker(w)));
    this.ledger = new ApiLedger(this.apiUrl, this.adminKey, this.outages);
    log(
      `up: api pid ${this.api.pid}, workers ${this.workers.map((w) => w.proc.pid).join(' and ')}, redis :${this.redisPort}, sandbox ${sandboxUrl}`,
    );
  }

  private process(name: string, command: string, args: string[], extraEnv: Record<string, string>): ManagedProcess {
    return new ManagedProcess(name, command, args, extraEnv, join(ARTIFACTS, `${name}.log`), ROOT);
  }

  private async recreateDatabase(): Promise<void> {
    await dropDatabase(SETTINGS.databaseUrl);
    // The explicit migration step production runs; it creates the database too.
    const migrate = spawnSync(NODE, [join(BUILD, 'src/database/migrate.js')], {
      cwd: ROOT,
      env: { PATH: env.PATH ?? '', DATABASE_URL: SETTINGS.databaseUrl },
      encoding: 'utf8',
    });
    writeFileSync(join(ARTIFACTS, 'migrate.log'), `${migrate.stdout}\n${migrate.stderr}`);
    if (migrate.status !== 0) throw new Error(`migrations failed: ${migrate.stderr || migrate.stdout}`);
  }

  private async startRedis(): Promise<void> {
    this.redis.start();
    const client = new Redis({
      port: this.redisPort,
      host: '127.0.0.1',
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
    });
    client.on('error', () => undefined);
    try {
      await waitUntil(
        'redis',
        async () => {
          if (client.status !== 'ready') await client.connect().catch(() => undefined);
          return (await client.ping()) === 'PONG';
        },
        10_000,
        100,
      );
    } finally {
      client.disconnect();
    }
  }

  private async waitForWorker(w: { proc: ManagedProcess; port: number; upSince: number | null }): Promise<void> {
    const started = Date.now();
    await waitUntil(`${w.proc.name} to be live`, () => httpOk(`http://127.0.0.1:${w.port}/api/health/live`), 60_000);
    w.upSince = Date.now();
    this.bootMs.push(w.upSince - started);
  }

  // ---------------------------------------------------------------- the network and the load

  private async post(path: string, body: unknown): Promise<any> {
    const res = await this.ledger.call('POST', path, { body, expect: [201] });
    if (res.verdict !== 'ok') throw new Error(`setup ${path} answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async createNetwork(): Promise<{ referrerId: string; technicianId: string; targets: string[][] }> {
    const endpoint = await this.post('/api/webhook-endpoints', { url: this.receiver.url('/faults') });
    this.webhookSecret = endpoint.secret;
    const referrer = await this.post('/api/companies', { name: `Faults referrer ${this.runId}`, trades: ['plumbing'] });
    const technician = await this.post(`/api/companies/${referrer.id}/technicians`, {
      firstName: 'Fay',
      lastName: 'Ult',
      phone: '512-555-0100',
    });
    const targets: string[][] = [];
    for (let i = 0; i < SETTINGS.accountsPerProvider; i++) {
      const st = await this.post('/api/companies', {
        name: `Faults ST ${i} ${this.runId}`,
        provider: {
          type: 'servicetitan',
          credentials: {
            tenantId: String(7000 + i),
            clientId: `cid.faults${i}.${this.runId}`,
            clientSecret: `cs.faults-${i}`,
            bookingProviderId: String(90 + i),
          },
        },
      });
      const hcp = await this.post('/api/companies', {
        name: `Faults HCP ${i} ${this.runId}`,
        provider: { type: 'housecallpro', credentials: { apiKey: `hcp_faults_${i}_${this.runId}` } },
      });
      const jobber = await this.post('/api/companies', { name: `Faults Jobber ${i} ${this.runId}` });
      await this.connectJobber(jobber.id);
      targets.push([st.id, hcp.id, jobber.id]);
    }
    return { referrerId: referrer.id, technicianId: technician.id, targets };
  }

  /** The OAuth connect as a browser does it: authorize URL, the sandbox's approval redirect, the API's callback. */
  private async connectJobber(companyId: string): Promise<void> {
    const authorize = await this.ledger.call('POST', `/api/companies/${companyId}/connections/jobber/authorize`, {
      expect: [200],
    });
    if (authorize.verdict !== 'ok') throw new Error(`jobber authorize answered ${authorize.status}`);
    const approval = await fetch((authorize.body as { authorizeUrl: string }).authorizeUrl, { redirect: 'manual' });
    const callback = await fetch(approval.headers.get('location') ?? '');
    if (callback.status !== 200)
      throw new Error(`jobber callback answered ${callback.status}: ${await callback.text()}`);
  }

  async setFaults(on: boolean): Promise<void> {
    for (const provider of ['servicetitan', 'housecallpro', 'jobber'] as const) {
      if (on) await this.control.setFaults(provider, FAULTS[provider]);
      else await this.control.clearFaults(provider);
    }
  }

  async loadAndChaos(network: { referrerId: string; technicianId: string; targets: string[][] }): Promise<void> {
    const chaosStarted = Date.now();
    const load = runLoad({
      api: this.ledger,
      count: SETTINGS.jobs,
      concurrency: SETTINGS.concurrency,
      spreadMs: SETTINGS.loadMs,
      idempotencyKey: (n) => `faults-${this.runId}-${n}`,
      readBackEvery: 25,
      body: (n) => ({
        companyId: network.referrerId,
        technicianId: network.technicianId,
        homeowner: { firstName: 'Fault', lastName: `Homeowner${n}`, email: `homeowner-${this.runId}-${n}@example.com` },
        address: { street: `${100 + n} Chaos Lane`, city: 'Austin', state: 'TX', zip: '78701' },
        summary: `Fault suite referral #${n}`,
        trade: 'electrical',
        targetCompanyIds: network.targets[n % network.targets.length],
      }),
      onCreated: (job) => this.created.set(job.id, job),
    }).finally(() => {
      this.loadDone = true;
    });
    const progress = setInterval(() => log(`load: ${this.created.size}/${SETTINGS.jobs} jobs created`), 15_000);
    try {
      await this.chaos(chaosStarted);
      const result = await load;
      log(
        `load done: ${result.created} jobs created (${result.replays} after a re-send), gave up on ${result.gaveUp.length}`,
      );
      this.check(
        'every job of the load was created',
        result.gaveUp.length === 0 && this.created.size === SETTINGS.jobs,
        `${this.created.size}/${SETTINGS.jobs} created${result.gaveUp.length ? `; gave up on #${result.gaveUp.slice(0, 10).join(', #')}` : ''}`,
      );
    } finally {
      clearInterval(progress);
      await load.catch(() => undefined);
    }
  }

  // ---------------------------------------------------------------- chaos

  private async chaos(started: number): Promise<void> {
    let nextKill = started + SETTINGS.killEveryMs;
    let redisDone = false;
    let sigtermDone = false;
    let outageDone = false;
    while (!(this.loadDone && redisDone && sigtermDone && outageDone && Date.now() - started >= SETTINGS.chaosMinMs)) {
      const at = Date.now() - started;
      if (!redisDone && at >= SETTINGS.redisRestartAtMs) {
        await this.restartRedis();
        redisDone = true;
      } else if (!sigtermDone && at >= SETTINGS.sigtermAtMs) {
        await this.drainOneWorker(this.workers[0]);
        sigtermDone = true;
        nextKill = Date.now() + SETTINGS.killEveryMs;
      } else if (!outageDone && at >= SETTINGS.outageAtMs) {
        await this.redisOutageWithSigterms();
        outageDone = true;
        nextKill = Date.now() + SETTINGS.killEveryMs;
      } else if (Date.now() >= nextKill) {
        await this.killAndRestart();
        nextKill += SETTINGS.killEveryMs;
      }
      await sleep(200);
    }
    // Whatever is still booting must be up before faults go off.
    await Promise.all(this.workers.map((w) => (w.proc.alive && w.upSince ? Promise.resolve() : this.waitForWorker(w))));
  }

  /** Every ~10 s: SIGKILL the worker that has been up the longest (even if the other is still booting), restart it. */
  private async killAndRestart(): Promise<void> {
    const up = this.workers.filter((x) => x.upSince !== null).sort((a, b) => a.upSince! - b.upSince!);
    const w = up[0];
    if (!w) {
      this.counters.skippedKills++;
      log('skip SIGKILL: no worker is up yet');
      return;
    }
    const pid = w.proc.pid;
    w.proc.signal('SIGKILL');
    this.lastKillAt = Date.now();
    const exit = await w.proc.waitForExit(10_000);
    this.counters.sigkills++;
    log(
      `SIGKILL ${w.proc.name} (pid ${pid}, up ${((Date.now() - w.upSince!) / 1000).toFixed(1)} s) -> ${exit?.signal ?? exit?.code}; restarting`,
    );
    w.upSince = null;
    w.proc.start();
    this.counters.restarts++;
    void this.waitForWorker(w).catch((error: Error) => log(`${w.proc.name} did not come back: ${error.message}`));
  }

  private async restartRedis(): Promise<void> {
    const pid = this.redis.pid;
    const outage: Outage = { what: 'redis', from: Date.now(), to: null };
    this.outages.push(outage);
    this.redis.signal('SIGKILL');
    await this.redis.waitForExit(10_000);
    log(`redis (pid ${pid}) killed; down for ${SETTINGS.redisDownMs} ms`);
    await sleep(SETTINGS.redisDownMs);
    await this.startRedis();
    outage.to = Date.now();
    this.counters.redisRestarts++;
    log(
      `redis back (pid ${this.redis.pid}) on :${this.redisPort}, empty: BullMQ state is gone, the sweeps must recover from PostgreSQL`,
    );
  }

  /**
   * Redis down for 30 s (SPEC section 12): the API keeps accepting jobs, and each worker, SIGTERMed
   * while Redis is away, must end by itself within SHUTDOWN_TIMEOUT_MS (its drain cannot reach Redis)
   * and boot again without Redis. Redis comes back empty: the sweeps rebuild the queues.
   */
  private async redisOutageWithSigterms(): Promise<void> {
    const outage: Outage = { what: 'redis (30 s)', from: Date.now(), to: null };
    this.outages.push(outage);
    const pid = this.redis.pid;
    this.redis.signal('SIGKILL');
    await this.redis.waitForExit(10_000);
    log(`redis (pid ${pid}) killed; down for ${SETTINGS.outageMs / 1000} s, with a SIGTERM to each worker meanwhile`);
    for (const [i, afterMs] of SETTINGS.outageSigtermsAfterMs.entries()) {
      await sleep(Math.max(0, outage.from + afterMs - Date.now()));
      const w = this.workers[i % this.workers.length];
      if (!w.proc.alive) await this.waitForWorker(w);
      const sentAt = Date.now();
      const workerPid = w.proc.pid;
      w.proc.signal('SIGTERM');
      this.counters.outageSigterms++;
      const exit = await w.proc.waitForExit(SETTINGS.shutdownTimeoutMs + 20_000);
      const ms = Date.now() - sentAt;
      const exitText = exit ? (exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`) : 'still running';
      this.outageExits.push({ name: w.proc.name, exit: exitText, ms });
      log(`SIGTERM ${w.proc.name} (pid ${workerPid}) during the outage -> ${exitText} after ${ms} ms`);
      if (!exit) w.proc.signal('SIGKILL');
      w.upSince = null;
      w.proc.start();
      this.counters.restarts++;
      void this.waitForWorker(w).catch((error: Error) => log(`${w.proc.name} did not come back: ${error.message}`));
    }
    await sleep(Math.max(0, outage.from + SETTINGS.outageMs - Date.now()));
    await this.startRedis();
    outage.to = Date.now();
    this.counters.redisRestarts++;
    log(`redis back (pid ${this.redis.pid}) after ${((outage.to - outage.from) / 1000).toFixed(1)} s, empty`);
    this.check(
      'SIGTERM during a Redis outage: each worker exits by itself within SHUTDOWN_TIMEOUT_MS',
      this.outageExits.length === SETTINGS.outageSigtermsAfterMs.length &&
        this.outageExits.every((e) => !e.exit.startsWith('signal') && e.exit !== 'still running') &&
        this.outageExits.every((e) => e.ms <= SETTINGS.shutdownTimeoutMs + 2_000),
      this.outageExits.map((e) => `${e.name}: ${e.exit} after ${e.ms} ms`).join('; '),
    );
  }

  /** SIGTERM while the worker has work in flight: it must finish that work, exit 0, and leave nothing `syncing`. */
  private async drainOneWorker(w: Suite['workers'][number]): Promise<void> {
    await waitUntil(
      'both workers to be up for the drain',
      async () => this.workers.every((x) => x.upSince !== null && Date.now() - x.upSince > 3000),
      60_000,
    );
    const before = await this.syncAttemptsOf(w.port);
    await sleep(2000);
    const after = await this.syncAttemptsOf(w.port);
    const activity = before === null || after === null ? null : after - before;
    // Claimed since the last SIGKILL: held by one of the two live workers, never by a dead one.
    const { rows: inFlight } = await this.db.query<{ id: string; status_changed_at: Date }>(
      `SELECT id, status_changed_at FROM routings WHERE status = 'syncing' AND status_changed_at > $1`,
      [new Date(this.lastKillAt)],
    );
    const sentAt = Date.now();
    const pid = w.proc.pid;
    w.proc.signal('SIGTERM');
    this.counters.sigterms++;
    log(
      `SIGTERM ${w.proc.name} (pid ${pid}) with ${inFlight.length} routings syncing cluster-wide, ${activity ?? '?'} attempts finished by it in the 2 s before`,
    );
    const exit = await w.proc.waitForExit(60_000);
    const drainMs = Date.now() - sentAt;
    w.upSince = null;
    const exitText = exit ? (exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`) : 'did not exit within 60 s';
    // The drained worker's claims are done at its exit; the other worker's end within the sync time limit
    // (SYNC_JOB_TIMEOUT_MS plus one provider call), before cleanup could call any of them abandoned.
    const ids = inFlight.map((r) => r.id);
    const stillHeld = async () => {
      const { rows } = await this.db.query<{ id: string; status_changed_at: Date }>(
        `SELECT id, status_changed_at FROM routings WHERE id = ANY($1::uuid[]) AND status = 'syncing'`,
        [ids],
      );
      const claimedAt = new Map(inFlight.map((r) => [r.id, r.status_changed_at.getTime()]));
      return rows.filter((r) => r.status_changed_at.getTime() === claimedAt.get(r.id));
    };
    await waitUntil(
      'claims in flight at SIGTERM to finish',
      async () => (await stillHeld()).length === 0,
      18_000,
      250,
    ).catch(() => undefined);
    const left = await stillHeld();
    const { rows: rescued } = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM routing_events WHERE type = 'rescued' AND routing_id = ANY($1::uuid[]) AND at >= $2`,
      [ids, new Date(sentAt)],
    );
    this.drain = {
      exit: exitText,
      drainMs,
      inFlightAtSigterm: inFlight.length,
      activityBefore: activity,
      leftSyncing: left.length,
      rescued: rescued[0].n,
    };
    log(`${w.proc.name} exited (${exitText}) after ${drainMs} ms; ${left.length} of its claims left syncing`);
    this.check('SIGTERM: the worker exits 0 after draining', exit?.code === 0, `${exitText} after ${drainMs} ms`);
    this.check(
      'SIGTERM: in-flight routings are not left syncing',
      inFlight.length > 0 && left.length === 0 && rescued[0].n === 0,
      `${inFlight.length} in flight at SIGTERM, ${left.length} left syncing, ${rescued[0].n} needed a rescue`,
    );
    w.proc.start();
    this.counters.restarts++;
    await this.waitForWorker(w);
  }

  private async syncAttemptsOf(port: number): Promise<number | null> {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(3000) });
      const text = await res.text();
      return text
        .split('\n')
        .filter((line) => line.startsWith('routing_sync_total{'))
        .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
    } catch {
      return null;
    }
  }

  // ---------------------------------------------------------------- settle and verify

  async settle(): Promise<void> {
    const started = Date.now();
    for (let round = 0; ; round++) {
      const { rows } = await this.db.query<{ status: string; n: number }>(
        `SELECT status, count(*)::int AS n FROM routings GROUP BY status ORDER BY status`,
      );
      const busy = rows.filter((r) => ['pending', 'syncing', 'failed'].includes(r.status)).reduce((s, r) => s + r.n, 0);
      const text = rows.map((r) => `${r.status}=${r.n}`).join(' ');
      if (round % 5 === 0) log(`settling: ${text}`);
      if (busy === 0) {
        this.settleMs = Date.now() - started;
        log(`settled after ${(this.settleMs / 1000).toFixed(1)} s: ${text}`);
        return;
      }
      if (Date.now() - started > SETTINGS.settleTimeoutMs) {
        log(`did not settle within ${SETTINGS.settleTimeoutMs / 1000} s: ${text}`);
        return;
      }
      await sleep(2000);
    }
  }

  /** Outbound deliveries still waiting (for a retry, or for the sweep to queue them again) until none is. */
  async settleWebhooks(): Promise<void> {
    const started = Date.now();
    for (let round = 0; ; round++) {
      const { rows } = await this.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM webhook_deliveries WHERE status = 'pending'`,
      );
      if (round % 5 === 0)
        log(`webhooks settling: ${rows[0].n} deliveries pending, ${this.receiver.received.length} received`);
      if (rows[0].n === 0) {
        this.webhookSettleMs = Date.now() - started;
        log(`webhooks settled after ${(this.webhookSettleMs / 1000).toFixed(1)} s`);
        return;
      }
      if (Date.now() - started > SETTINGS.webhookSettleTimeoutMs) {
        log(`webhooks did not settle within ${SETTINGS.webhookSettleTimeoutMs / 1000} s: ${rows[0].n} pending`);
        return;
      }
      await sleep(2000);
    }
  }

  /**
   * Every routing change that makes an event made exactly one (the outbox), and each arrived at least once, signed:
   * here every routing reached `synced` once, so one `routing.synced` per routing.
   */
  async verifyWebhooks(): Promise<Record<string, number>> {
    const { rows: routings } = await this.db.query<{ id: string; synced: number }>(
      `SELECT r.id, (SELECT count(*)::int FROM routing_events e
                      WHERE e.routing_id = r.id AND e.type = 'status_change' AND e.outcome = 'synced') AS synced
         FROM routings r`,
    );
    const { rows: events } = await this.db.query<{ id: string; routing_id: string; type: string; body: string }>(
      `SELECT id, routing_id, type, body FROM webhook_events`,
    );
    const { rows: deliveries } = await this.db.query<{ status: string; n: number; attempts: number }>(
      `SELECT status, count(*)::int AS n, sum(attempts)::int AS attempts FROM webhook_deliveries GROUP BY status`,
    );
    const syncedEvents = new Map<string, number>();
    for (const e of events.filter((e) => e.type === 'routing.synced')) {
      syncedEvents.set(e.routing_id, (syncedEvents.get(e.routing_id) ?? 0) + 1);
    }
    const changes = routings.reduce((n, r) => n + r.synced, 0);
    const missingEvents = routings.filter((r) => (syncedEvents.get(r.id) ?? 0) < r.synced).length;
    const extraEvents = routings.filter((r) => (syncedEvents.get(r.id) ?? 0) > r.synced).length;

    const verifier = new Webhook(this.webhookSecret);
    const byId = new Map<string, typeof this.receiver.received>();
    let badSignatures = 0;
    for (const w of this.receiver.received) {
      byId.set(w.id, [...(byId.get(w.id) ?? []), w]);
      // The reference implementation's own signature of what arrived (its verify() would also refuse receipts older
      // than its 5-minute tolerance, which early ones are by now).
      const expected = verifier.sign(w.id, new Date(Number(w.headers['webhook-timestamp']) * 1000), w.body);
      if (expected !== w.headers['webhook-signature']) badSignatures++;
    }
    const delivered = (id: string) => (byId.get(id) ?? []).filter((w) => w.answered === 204);
    const notDelivered = events.filter((e) => delivered(e.id).length === 0);
    const wrongBody = events.filter((e) => byId.get(e.id)?.some((w) => w.body !== e.body)).length;
    const duplicates = events.reduce((n, e) => n + Math.max(0, delivered(e.id).length - 1), 0);
    const eventsReceivedTwiceOrMore = events.filter((e) => (byId.get(e.id)?.length ?? 0) > 1).length;
    const failedDeliveries = deliveries.filter((d) => d.status !== 'succeeded').reduce((n, d) => n + d.n, 0);
    const attempts = deliveries.reduce((n, d) => n + d.attempts, 0);

    this.check(
      'outbound webhooks: one event per routing change, none lost',
      changes === routings.length && missingEvents === 0 && extraEvents === 0,
      `${events.length} events for ${changes} routing changes; ${missingEvents} routings without their event, ${extraEvents} with one too many`,
    );
    this.check(
      'outbound webhooks: every event delivered (2xx) at least once, as stored, with a valid signature',
      notDelivered.length === 0 && failedDeliveries === 0 && wrongBody === 0 && badSignatures === 0,
      `${events.length - notDelivered.length}/${events.length} delivered; ${failedDeliveries} deliveries not succeeded, ` +
        `${wrongBody} bodies differing from the outbox, ${badSignatures} bad signatures` +
        (notDelivered.length ? `; e.g. ${notDelivered[0].id}` : ''),
    );
    return {
      webhookEvents: events.length,
      webhookRequests: this.receiver.received.length,
      webhookAttempts: attempts,
      webhookFailedAnswers: this.receiver.received.filter((w) => w.answered === 500).length,
      webhookHangs: this.receiver.received.filter((w) => w.answered === 'hang').length,
      webhookDuplicates: duplicates,
      webhookEventsSeenTwice: eventsReceivedTwiceOrMore,
    };
  }

  async verify(): Promise<Record<string, number | string>> {
    const createdIds = [...this.created.keys()];
    const createdRoutings = [...this.created.values()].flatMap((j) => j.routings.map((r) => ({ ...r, jobId: j.id })));

    const { rows: jobs } = await this.db.query<{ id: string }>(`SELECT id FROM jobs`);
    const jobIds = new Set(jobs.map((j) => j.id));
    const lostJobs = createdIds.filter((id) => !jobIds.has(id));
    const unexpectedJobs = jobs.filter((j) => !this.created.has(j.id));

    const { rows: routings } = await this.db.query<{
      id: string;
      job_id: string;
      provider_type: string;
      status: string;
      external_id: string | null;
      attempts: number;
    }>(`SELECT id, job_id, provider_type, status, external_id, attempts FROM routings`);
    const routingById = new Map(routings.map((r) => [r.id, r]));
    const lostRoutings = createdRoutings.filter((r) => !routingById.has(r.id));
    const notSynced = routings.filter((r) => !['synced', 'completed', 'canceled'].includes(r.status));
    const syncing = routings.filter((r) => r.status === 'syncing');
    const wrongShape = createdIds.filter((id) => this.created.get(id)!.routings.length !== 3);

    // Exactly one record per routing at the provider, and it is the one the routing points to.
    const records = await this.control.records();
    const perRouting = new Map<string, string[]>();
    const foreign: string[] = [];
    const note = (routingId: string, externalId: string) => {
      if (!routingById.has(routingId)) foreign.push(externalId);
      perRouting.set(routingId, [...(perRouting.get(routingId) ?? []), externalId]);
    };
    for (const booking of records.servicetitan?.bookings ?? []) note(booking.externalId ?? '', String(booking.id));
    for (const job of records.housecallpro?.jobs ?? []) {
      const tags = (job.tags ?? []).filter((t: string) => t.startsWith('te-routing-'));
      if (tags.length !== 1) foreign.push(job.id);
      for (const tag of tags) note(tag.slice('te-routing-'.length), job.id);
    }
    for (const request of records.jobber?.requests ?? []) {
      const reference = /\[te-routing-([0-9a-f-]{36})\]$/.exec(request.title ?? '')?.[1];
      if (reference) note(reference, request.id);
      else foreign.push(request.id);
    }
    // Each job has its own homeowner: a second customer for the same email means a retry missed the first.
    const customersPerHomeowner = new Map<string, number>();
    for (const customer of records.housecallpro?.customers ?? []) {
      const key = `${customer.keyId} ${customer.email}`;
      customersPerHomeowner.set(key, (customersPerHomeowner.get(key) ?? 0) + 1);
    }
    for (const client of records.jobber?.clients ?? []) {
      const key = `jobber ${client.accountId} ${client.emails[0]?.address}`;
      customersPerHomeowner.set(key, (customersPerHomeowner.get(key) ?? 0) + 1);
    }
    const duplicateCustomers = [...customersPerHomeowner.values()].reduce((sum, n) => sum + n - 1, 0);
    let duplicates = 0;
    let missingAtProvider = 0;
    let mismatched = 0;
    for (const r of routings) {
      const found = perRouting.get(r.id) ?? [];
      if (found.length > 1) duplicates += found.length - 1;
      if (found.length === 0) missingAtProvider++;
      else if (r.external_id !== null && !found.includes(r.external_id)) mismatched++;
    }

    const { rows: events } = await this.db.query<{ type: string; outcome: string; n: number }>(
      `SELECT type, outcome, count(*)::int AS n FROM routing_events GROUP BY type, outcome`,
    );
    const eventCount = (type: string, outcome?: string) =>
      events
        .filter((e) => e.type === type && (outcome === undefined || e.outcome === outcome))
        .reduce((s, e) => s + e.n, 0);
    // The claim token lets exactly one attempt record the success of a routing.
    const { rows: successes } = await this.db.query<{ n: number; routings: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT routing_id)::int AS routings FROM routing_events WHERE type = 'sync_attempt' AND outcome = 'success'`,
    );
    const { rows: jobStatuses } = await this.db.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM jobs GROUP BY status`,
    );
    const stats = await this.control.stats();
    const providerStatus = (status: string) =>
      Object.values(stats.providers).reduce((sum, p) => sum + (p.byStatus[status] ?? 0), 0);
    const crashes = [this.api, ...this.workers.map((w) => w.proc), this.sandbox, this.redis].flatMap((p) =>
      p.unexpectedExits.map(
        (e) => `${p.name} ${e.exit.signal ?? `code ${e.exit.code}`} at ${new Date(e.at).toISOString()}`,
      ),
    );

    this.check(
      'no job lost',
      lostJobs.length === 0,
      `${lostJobs.length} of ${createdIds.length} created jobs missing from the database`,
    );
    this.check(
      'no job created twice',
      unexpectedJobs.length === 0,
      `${unexpectedJobs.length} jobs in the database the load did not get a 201 for`,
    );
    this.check(
      'no routing lost',
      lostRoutings.length === 0 && wrongShape.length === 0 && routings.length === createdRoutings.length,
      `${routings.length} routings in the database, ${createdRoutings.length} answered with 201, ${lostRoutings.length} missing, ${wrongShape.length} jobs without 3 routings`,
    );
    this.check(
      'every routing is synced or later',
      notSynced.length === 0,
      notSynced.length
        ? `${notSynced.length} not synced, e.g. ${notSynced
            .slice(0, 3)
            .map((r) => `${r.id}=${r.status}`)
            .join(', ')}`
        : `${routings.length} routings synced`,
    );
    this.check(
      'one recorded success per routing',
      successes[0].n === routings.length && successes[0].routings === routings.length,
      `${successes[0].n} successful attempts recorded for ${successes[0].routings} of ${routings.length} routings`,
    );
    this.check(
      'every job is open (all its routings synced)',
      jobStatuses.length === 1 && jobStatuses[0].status === 'open',
      jobStatuses.map((j) => `${j.status}=${j.n}`).join(' '),
    );
    this.check('no routing stuck in syncing', syncing.length === 0, `${syncing.length} in syncing`);
    this.check(
      'exactly one provider record per routing',
      duplicates === 0 && missingAtProvider === 0 && mismatched === 0 && foreign.length === 0,
      `${duplicates} duplicates, ${missingAtProvider} missing, ${mismatched} not the routing's externalId, ${foreign.length} records of no routing`,
    );
    this.check(
      'no duplicate Housecall Pro customer or Jobber client',
      duplicateCustomers === 0 && customersPerHomeowner.size === 2 * createdIds.length,
      `${customersPerHomeowner.size} customers and clients for ${createdIds.length} homeowners at two providers, ${duplicateCustomers} duplicates`,
    );
    this.check(
      'every valid API request answered',
      this.ledger.failures.length === 0,
      `${this.ledger.requests} requests, ${this.ledger.tolerated} tolerated 503 during an outage, ${this.ledger.failures.length} failures` +
        (this.ledger.failures.length ? `: ${JSON.stringify(this.ledger.failures.slice(0, 3))}` : ''),
    );
    this.check(
      'no service process crashed',
      crashes.length === 0,
      crashes.length ? crashes.join('; ') : 'only the exits the suite caused',
    );
    this.check(
      'the chaos happened',
      this.counters.sigkills >= 5 &&
        this.counters.redisRestarts === 2 &&
        this.counters.sigterms === 1 &&
        this.counters.outageSigterms === 2,
      `${this.counters.sigkills} SIGKILLs, ${this.counters.redisRestarts} Redis restarts (one after 30 s), ${this.counters.sigterms} SIGTERM drain, ${this.counters.outageSigterms} SIGTERMs during the outage`,
    );
    writeFileSync(join(ARTIFACTS, 'api-failures.json'), JSON.stringify(this.ledger.failures, null, 2));

    return {
      jobs: createdIds.length,
      routings: routings.length,
      attempts: eventCount('sync_attempt'),
      retries: eventCount('retry_scheduled'),
      rescued: eventCount('rescued'),
      maxAttempts: Math.max(0, ...routings.map((r) => r.attempts)),
      duplicates: duplicates + duplicateCustomers,
      lostJobs: lostJobs.length,
      lostRoutings: lostRoutings.length + missingAtProvider,
      notSynced: notSynced.length,
      syncing: syncing.length,
      providerRequests: Object.values(stats.providers).reduce((sum, p) => sum + p.requests, 0),
      provider5xx: ['500', '502', '503', '504'].reduce((s, code) => s + providerStatus(code), 0),
      provider429: providerStatus('429'),
      providerNoResponse: providerStatus('no_response'),
    };
  }

  report(numbers: Record<string, number | string>): string {
    const api = [...this.ledger.byStatus.entries()].map(([s, n]) => `${s}:${n}`).join(' ');
    const boots = this.bootMs.slice(2); // the first two are the initial start-up
    const bootText = boots.length
      ? `avg ${(boots.reduce((a, b) => a + b, 0) / boots.length / 1000).toFixed(1)} s, max ${(Math.max(...boots) / 1000).toFixed(1)} s`
      : 'n/a';
    const rows: [string, string][] = [
      ['jobs created (POST /api/jobs 201)', `${numbers.jobs}`],
      ['routings (ServiceTitan + Housecall Pro + Jobber)', `${numbers.routings}`],
      ['sync attempts recorded', `${numbers.attempts}`],
      ['retries scheduled', `${numbers.retries}`],
      ['stuck syncs rescued by cleanup', `${numbers.rescued}`],
      [
        'most attempts by one routing',
        `${numbers.maxAttempts} (MAX_SYNC_ATTEMPTS=${SETTINGS.maxSyncAttempts}: ~30% injected failures per call)`,
      ],
      [
        'provider calls / 5xx / 429 / no answer',
        `${numbers.providerRequests} / ${numbers.provider5xx} / ${numbers.provider429} / ${numbers.providerNoResponse}`,
      ],
      [
        'worker SIGKILLs (+ restarts)',
        `${this.counters.sigkills} (${this.counters.restarts} restarts, ${this.counters.skippedKills} skipped: none up); boot ${bootText}`,
      ],
      [
        'Redis restarts',
        `${this.counters.redisRestarts} (one after ${SETTINGS.redisDownMs / 1000} s, one after ${SETTINGS.outageMs / 1000} s)`,
      ],
      [
        `SIGTERMs during the ${SETTINGS.outageMs / 1000} s outage`,
        this.outageExits.map((e) => `${e.name} ${e.exit} in ${e.ms} ms`).join(', ') || 'not run',
      ],
      [
        'SIGTERM drain',
        this.drain
          ? `${this.drain.exit} in ${this.drain.drainMs} ms; ${this.drain.activityBefore ?? '?'} attempts in its last 2 s, ${this.drain.inFlightAtSigterm} syncing at SIGTERM, ${this.drain.leftSyncing} left`
          : 'not run',
      ],
      [
        'API requests (status:count)',
        `${api}; tolerated 503: ${this.ledger.tolerated}; failures: ${this.ledger.failures.length}`,
      ],
      ['duplicates at the provider (records + customers)', `${numbers.duplicates}`],
      ['losses (jobs / routings)', `${numbers.lostJobs} / ${numbers.lostRoutings}`],
      [
        'outbound webhooks: events / requests / attempts recorded',
        `${numbers.webhookEvents} / ${numbers.webhookRequests} / ${numbers.webhookAttempts} (receiver: ${numbers.webhookFailedAnswers} × 500, ${numbers.webhookHangs} never answered)`,
      ],
      [
        'outbound webhooks: duplicate deliveries (2xx beyond the first)',
        `${numbers.webhookDuplicates} (${numbers.webhookEventsSeenTwice} events reached the receiver more than once)`,
      ],
      [
        'outbound webhooks: time to settle after the routings did',
        this.webhookSettleMs === null ? 'did not settle' : `${(this.webhookSettleMs / 1000).toFixed(1)} s`,
      ],
      ['not synced / stuck syncing', `${numbers.notSynced} / ${numbers.syncing}`],
      [
        'time to settle after faults off',
        this.settleMs === null ? 'did not settle' : `${(this.settleMs / 1000).toFixed(1)} s`,
      ],
      ['total run time', elapsed()],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    const valueWidth = Math.max(...rows.map(([, v]) => v.length));
    const line = `+-${'-'.repeat(width)}-+-${'-'.repeat(valueWidth)}-+`;
    const table = [line, ...rows.map(([k, v]) => `| ${k.padEnd(width)} | ${v.padEnd(valueWidth)} |`), line].join('\n');
    const verdicts = this.checks.map((c) => `${c.ok ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}`).join('\n');
    return `\nFault suite summary (run ${this.runId})\n${table}\n\n${verdicts}\n`;
  }

  async tearDown(): Promise<void> {
    await this.db?.end().catch(() => undefined);
    await this.receiver?.close().catch(() => undefined);
    for (const p of [this.api, ...this.workers.map((w) => w.proc), this.sandbox, this.redis]) {
      if (p?.alive) await p.kill();
    }
    rmSync(BUILD, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  const suite = new Suite();
  try {
    log(`setting up (${SETTINGS.jobs} jobs, ${SETTINGS.concurrency} in flight over ~${SETTINGS.loadMs / 1000} s)`);
    await suite.setUp();
    const network = await suite.createNetwork();
    await suite.setFaults(true);
    log(`faults on: ${JSON.stringify(FAULTS)}`);
    await suite.loadAndChaos(network);
    await suite.setFaults(false);
    log('faults off; settling');
    await suite.settle();
    await suite.settleWebhooks();
    const numbers = { ...(await suite.verify()), ...(await suite.verifyWebhooks()) };
    const summary = suite.report(numbers);
    console.log(summary);
    writeFileSync(join(ARTIFACTS, 'summary.txt'), summary);
    writeFileSync(
      join(ARTIFACTS, 'summary.json'),
      JSON.stringify({ numbers, checks: suite.checks, counters: suite.counters, drain: suite.drain }, null, 2),
    );
    return suite.checks.every((c) => c.ok) ? 0 : 1;
  } catch (error) {
    console.error(`[faults] aborted: ${(error as Error).stack ?? error}`);
    return 1;
  } finally {
    await suite.tearDown();
  }
}

process.once('SIGINT', () => {
  stopAll();
  process.exit(130);
});

main().then(
  (code) => {
    stopAll();
    process.exit(code);
  },
  (error: unknown) => {
    console.error(error);
    stopAll();
    process.exit(1);
  },
);
