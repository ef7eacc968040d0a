import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import { Logger, LoggerService } from '@nestjs/common';
import Redis from 'ioredis';

import { AppConfig } from '../../src/config/app-config';
import { CircuitBreaker } from '../../src/providers/circuit-breaker';
import { SandboxControl } from '../../src/sandbox/sandbox-control.client';
import { createNetwork, jobBody, serviceTitanCredentials } from '../factories/network.factory';
import { TestApp, flushTestRedis, startTestApp } from '../helpers/app';
import { apiClient } from '../helpers/http';
import { waitFor } from '../helpers/wait';
import { freePort } from '../faults/processes';
import { FAST_SYNC_ENV, TEST_ADMIN_KEY, TEST_REDIS_URL } from '../test-env';

const THRESHOLD = 3;
const OPEN_MS = 1000;

/** The app's Redis options for its shared connection (fail fast while Redis is down). */
function connect(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  redis.on('error', () => undefined);
  return redis;
}

/** Collects what the breaker logs (one line per transition is part of its contract). */
class Lines implements LoggerService {
  readonly lines: { level: string; message: unknown; fields: Record<string, unknown> }[] = [];
  private add(level: string, fields: unknown, message?: unknown) {
    if (typeof fields === 'object' && fields !== null)
      this.lines.push({ level, message, fields: fields as Record<string, unknown> });
    else this.lines.push({ level, message: fields, fields: {} });
  }
  log = (fields: unknown, message?: unknown) => this.add('log', fields, message);
  warn = (fields: unknown, message?: unknown) => this.add('warn', fields, message);
  error = (fields: unknown, message?: unknown) => this.add('error', fields, message);
  about(connectionId: string): string[] {
    return this.lines.filter((l) => l.fields.connectionId === connectionId).map((l) => String(l.message));
  }
}

/**
 * The circuit breaker of SPEC section 6 against real Redis. Two instances with their own connections
 * stand for two worker processes: the circuit is one, whichever process records or asks.
 */
describe('CircuitBreaker (shared through Redis)', () => {
  const config = AppConfig.from({
    CIRCUIT_FAILURE_THRESHOLD: String(THRESHOLD),
    CIRCUIT_OPEN_MS: String(OPEN_MS),
  });
  let connections: Redis[];
  let a: CircuitBreaker;
  let b: CircuitBreaker;
  const logs = new Lines();

  beforeAll(async () => {
    await flushTestRedis();
    Logger.overrideLogger(logs);
    connections = [connect(TEST_REDIS_URL), connect(TEST_REDIS_URL)];
    await Promise.all(connections.map((c) => new Promise((ready) => c.once('ready', ready))));
    a = new CircuitBreaker(connections[0], config);
    b = new CircuitBreaker(connections[1], config);
  });
  afterAll(async () => {
    Logger.overrideLogger(false);
    await Promise.all(connections.map((c) => c.quit()));
  });

  async function openCircuit(id: string, provider = 'housecallpro'): Promise<Date> {
    // Failures recorded by either process count toward the same circuit.
    for (let i = 0; i < THRESHOLD; i++) await (i % 2 ? b : a).recordFailure(id, provider);
    const permit = await a.permit(id);
    if (permit.allowed) throw new Error('the circuit did not open');
    return permit.retryAt;
  }

  async function untilHalfOpen(retryAt: Date): Promise<void> {
    await sleep(Math.max(0, retryAt.getTime() - Date.now()) + 50);
  }

  it('stays closed below the threshold, and a success starts the count again', async () => {
    const id = randomUUID();
    for (let i = 0; i < THRESHOLD - 1; i++) await a.recordFailure(id, 'servicetitan');
    await b.recordSuccess(id);
    for (let i = 0; i < THRESHOLD - 1; i++) await b.recordFailure(id, 'servicetitan');
    expect(await a.permit(id)).toEqual({ allowed: true, probe: false });
    expect(await b.permit(id)).toEqual({ allowed: true, probe: false });
    expect((await a.openCircuits()).map((c) => c.connectionId)).not.toContain(id);
  });

  it('opens after THRESHOLD consecutive failures from any process, for every process, until CIRCUIT_OPEN_MS', async () => {
    const id = randomUUID();
    const before = Date.now();
    const retryAt = await openCircuit(id, 'servicetitan');
    expect(retryAt.getTime()).toBeGreaterThan(before);
    expect(retryAt.getTime()).toBeLessThanOrEqual(Date.now() + OPEN_MS);
    expect(await b.permit(id)).toEqual({ allowed: false, retryAt });

    const listed = (await b.openCircuits()).find((c) => c.connectionId === id);
    expect(listed).toEqual({ connectionId: id, provider: 'servicetitan', state: 'open', until: retryAt });
    expect(logs.about(id)).toEqual(['Provider circuit opened: no calls to this connection until it reopens']);
  });

  it('ignores a failure reported while open (a call that started before it opened)', async () => {
    const id = randomUUID();
    const retryAt = await openCircuit(id);
    await b.recordFailure(id, 'housecallpro');
    expect(await a.permit(id)).toEqual({ allowed: false, retryAt });
  });

  it('half-open: of many concurrent permits from two processes, exactly one is the probe', async () => {
    const id = randomUUID();
    await untilHalfOpen(await openCircuit(id));
    const permits = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).permit(id)));
    expect(permits.filter((p) => p.allowed)).toEqual([{ allowed: true, probe: true }]);
    for (const refused of permits.filter((p) => !p.allowed)) {
      // The others wait for the probe's answer (at most one open period).
      expect((refused as { retryAt: Date }).retryAt.getTime()).toBeGreaterThan(Date.now());
    }
    expect((await a.openCircuits()).find((c) => c.connectionId === id)?.state).toBe('half_open');
  });

  it('closes when the probe succeeds', async () => {
    const id = randomUUID();
    await untilHalfOpen(await openCircuit(id));
    expect(await b.permit(id)).toEqual({ allowed: true, probe: true });
    await b.recordSuccess(id);
    expect(await a.permit(id)).toEqual({ allowed: true, probe: false });
    expect((await a.openCircuits()).map((c) => c.connectionId)).not.toContain(id);
    expect(logs.about(id)).toEqual([
      'Provider circuit opened: no calls to this connection until it reopens',
      'Provider circuit half-open: one probe call let through',
      'Provider circuit closed',
    ]);
    // Closed again means a fresh count: one failure does not reopen it.
    await a.recordFailure(id);
    expect(await b.permit(id)).toEqual({ allowed: true, probe: false });
  });

  it('opens again for a whole period when the probe fails', async () => {
    const id = randomUUID();
    const first = await openCircuit(id);
    await untilHalfOpen(first);
    expect(await a.permit(id)).toEqual({ allowed: true, probe: true });
    await a.recordFailure(id, 'housecallpro');
    const again = await b.permit(id);
    expect(again.allowed).toBe(false);
    expect((again as { retryAt: Date }).retryAt.getTime()).toBeGreaterThan(first.getTime());
    expect(logs.about(id).at(-1)).toBe('Provider circuit probe failed: open again');
  });

  it('lets another probe through when the first never reports (its process died)', async () => {
    const id = randomUUID();
    await untilHalfOpen(await openCircuit(id));
    expect(await a.permit(id)).toEqual({ allowed: true, probe: true });
    const refused = await b.permit(id);
    expect(refused.allowed).toBe(false);
    await untilHalfOpen((refused as { retryAt: Date }).retryAt);
    expect(await b.permit(id)).toEqual({ allowed: true, probe: true });
  });

  it('fails open while Redis cannot answer, saying so once', async () => {
    const down = connect(`redis://127.0.0.1:${await freePort()}`);
    const breaker = new CircuitBreaker(down, config);
    const id = randomUUID();
    const before = logs.lines.length;
    for (let i = 0; i < THRESHOLD + 2; i++) {
      await breaker.recordFailure(id, 'housecallpro');
      expect(await breaker.permit(id)).toEqual({ allowed: true, probe: false });
    }
    await expect(breaker.recordSuccess(id)).resolves.toBeUndefined();
    await expect(breaker.openCircuits()).rejects.toThrow();
    const said = logs.lines.slice(before).map((l) => String(l.message));
    expect(said).toEqual(['Circuit breaker unavailable (Redis): provider calls proceed unchecked']);
    down.disconnect();
  });
});

describe('Open circuits in /metrics and the providers health component', () => {
  let t: TestApp;

  beforeAll(async () => {
    await flushTestRedis();
    t = await startTestApp({ CIRCUIT_FAILURE_THRESHOLD: '2', CIRCUIT_OPEN_MS: '600000' });
  });
  afterAll(() => t.close());

  it('counts open circuits per provider and lists them with their connection', async () => {
    const breaker = t.app.get(CircuitBreaker);
    const open = [randomUUID(), randomUUID()];
    for (const id of open) for (let i = 0; i < 2; i++) await breaker.recordFailure(id, 'housecallpro');
    await breaker.recordFailure(randomUUID(), 'servicetitan'); // below the threshold: still closed

    const metrics = (await apiClient(t.url).get('/metrics')).body as string;
    expect(metrics).toMatch(/^provider_circuit_open\{provider="housecallpro"\} 2$/m);
    expect(metrics).toMatch(/^provider_circuit_open\{provider="servicetitan"\} 0$/m);

    const health = await apiClient(t.url).get('/api/health/component/providers');
    expect(health.status).toBe(200);
    expect(health.body.info.providers.openCircuits).toEqual(
      expect.arrayContaining(
        open.map((connectionId) =>
          expect.objectContaining({ connectionId, provider: 'housecallpro', state: 'open', until: expect.any(String) }),
        ),
      ),
    );

    for (const id of open) await breaker.recordSuccess(id);
    const after = (await apiClient(t.url).get('/metrics')).body as string;
    expect(after).toMatch(/^provider_circuit_open\{provider="housecallpro"\} 0$/m);
  });
});

/**
 * The breaker wired into the provider gateway (SPEC section 6): against the sandbox failing every call, the
 * connection's circuit opens, no call reaches the provider while it is open, deferred attempts are not counted,
 * one probe goes through when it reopens, and a successful probe closes it.
 */
describe('Circuit breaker on sync and polling (sandbox over HTTP)', () => {
  let t: TestApp;

  beforeAll(async () => {
    await flushTestRedis();
    t = await startTestApp({
      ...FAST_SYNC_ENV,
      CIRCUIT_FAILURE_THRESHOLD: '2',
      CIRCUIT_OPEN_MS: '1500',
      MAX_SYNC_ATTEMPTS: '3',
    });
  });
  afterAll(() => t.close());

  it('stops calling a failing connection, defers its attempts without counting them, probes, then closes', async () => {
    const admin = apiClient(t.url, TEST_ADMIN_KEY);
    const sandbox = new SandboxControl(t.sandbox.url);
    const credentials = serviceTitanCredentials();
    const { referrer, technician, targets } = await createNetwork(admin, 1, {
      provider: { type: 'servicetitan', credentials },
    });
    await sandbox.setFaults('servicetitan', { errorRate: 1, errorStatus: 503 });
    const res = await admin.post(
      '/api/jobs',
      jobBody(referrer.id, technician.id, { targetCompanyIds: [targets[0].id] }),
    );
    const routingId = res.body.routings[0].id as string;
    const routing = async () => (await admin.get(`/api/routings/${routingId}`)).body;
    const attemptsOf = (r: { events: { type: string; outcome: string }[] }, outcome: string) =>
      r.events.filter((e) => e.type === 'sync_attempt' && e.outcome === outcome).length;

    // Two failed attempts open the circuit; the next one is deferred without a call.
    const deferred = await waitFor(
      async () => {
        const r = await routing();
        return attemptsOf(r, 'deferred') > 0 ? r : null;
      },
      { what: 'a deferred attempt' },
    );
    expect(attemptsOf(deferred, 'retryable_error')).toBe(2);
    const health = await admin.get('/api/health/component/providers');
    expect(JSON.stringify(health.body)).toContain(deferred.connectionId);

    // While the circuit is open the sandbox gets no call for this tenant.
    await sandbox.resetStats();
    await sleep(700);
    expect(
      (await sandbox.requests({ provider: 'servicetitan' })).filter((r) => r.account === credentials.tenantId),
    ).toEqual([]);

    // The provider recovers: the probe after the open period succeeds, the circuit closes, the routing syncs.
    await sandbox.clearFaults('servicetitan');
    const synced = await waitFor(
      async () => {
        const r = await routing();
        return r.status === 'synced' ? r : null;
      },
      { what: 'the routing to sync after the probe', timeoutMs: 20_000 },
    );
    // Deferrals used no attempt: two failures and the success are the only ones counted.
    expect(synced.attempts).toBe(3);
    expect(attemptsOf(synced, 'deferred')).toBeGreaterThan(0);
    expect(synced.status).toBe('synced');
    const after = await admin.get('/api/health/component/providers');
    expect(JSON.stringify(after.body)).not.toContain(synced.connectionId);
  });
});
