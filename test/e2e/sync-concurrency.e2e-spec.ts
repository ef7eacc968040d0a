import { getQueueToken } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { Counter, Registry } from 'prom-client';

import { AppConfig } from '../../src/config/app-config';
import { ProviderError } from '../../src/providers/provider-error';
import { JOB, PRIORITY, QUEUE } from '../../src/queue/queues';
import { SandboxControl } from '../../src/sandbox/sandbox-control.client';
import { ProviderRateLimiter } from '../../src/providers/provider-rate-limiter';
import { createNetwork, jobBody } from '../factories/network.factory';
import { TestApp, flushTestRedis, startTestApp, truncateAll } from '../helpers/app';
import { apiClient } from '../helpers/http';
import { waitFor } from '../helpers/wait';
import { FAST_SYNC_ENV, TEST_ADMIN_KEY, TEST_REDIS_URL } from '../test-env';

describe('Two workers racing over 500 routings', () => {
  let api: TestApp;
  const workers: TestApp[] = [];

  beforeAll(async () => {
    await flushTestRedis();
    api = await startTestApp(FAST_SYNC_ENV, 'api');
    await truncateAll(api.db);
  });
  afterAll(async () => {
    for (const w of workers) await w.close();
    await api.close();
  });

  it('syncs each routing exactly once, even when every routing is queued twice (sync and retry queues)', async () => {
    const admin = apiClient(api.url, TEST_ADMIN_KEY);
    const { referrer, technician, targets } = await createNetwork(admin, 2);
    const routingIds: string[] = [];
    for (let i = 0; i < 250; i++) {
      const res = await admin.post(
        '/api/jobs',
        jobBody(referrer.id, technician.id, { targetCompanyIds: targets.map((c) => c.id) }),
      );
      routingIds.push(...res.body.routings.map((r: any) => r.id));
    }
    expect(routingIds).toHaveLength(500);
    // The same routings on a second queue: only the database claim keeps two workers apart now.
    const retryQueue = api.app.get<Queue>(getQueueToken(QUEUE.retry));
    await retryQueue.addBulk(
      routingIds.map((routingId) => ({
        name: JOB.syncRouting,
        data: { routingId },
        opts: { jobId: `race_${routingId}`, priority: PRIORITY.high },
      })),
    );

    // Two worker-mode applications (own DB pools, Redis connections and BullMQ workers) sharing one sandbox.
    const env = {
      ...FAST_SYNC_ENV,
      PROVIDER_TIMEOUT_MS: '5000',
      SYNC_CONCURRENCY: '16',
      SERVICETITAN_AUTH_URL: api.sandbox.url,
      SERVICETITAN_API_URL: api.sandbox.url,
      HOUSECALLPRO_API_URL: api.sandbox.url,
    };
    workers.push(await startTestApp(env, 'worker'), await startTestApp(env, 'worker'));

    await waitFor(
      async () => (await api.db.query(`SELECT count(*)::int AS n FROM routings WHERE status = 'synced'`))[0].n === 500,
      { timeoutMs: 90_000, intervalMs: 500, what: '500 synced routings' },
    );
    const bookings = (await new SandboxControl(api.sandbox.url).serviceTitanRecords()).bookings as {
      externalId: string;
    }[];
    const perRouting = new Map<string, number>();
    for (const b of bookings) perRouting.set(b.externalId, (perRouting.get(b.externalId) ?? 0) + 1);
    expect(routingIds.filter((id) => perRouting.get(id) !== 1)).toEqual([]);
    expect(bookings).toHaveLength(500);
    // Exactly one successful attempt per routing (a slow attempt may have been retried, never duplicated).
    const [counts] = await api.db.query(
      `SELECT count(*)::int AS successes, count(DISTINCT routing_id)::int AS routings
         FROM routing_events WHERE type = 'sync_attempt' AND outcome = 'success'`,
    );
    expect(counts).toEqual({ successes: 500, routings: 500 });
  }, 120_000);
});

describe('ProviderRateLimiter shared by two processes', () => {
  const redisClients: Redis[] = [];
  const registry = new Registry();
  const counter = (name: string) => new Counter({ name, help: name, labelNames: ['provider'], registers: [registry] });
  const failOpen = counter('fail_open_test');

  async function limiter(limits: { perMinute: number; perHour: number; burst: number }, redisUrl = TEST_REDIS_URL) {
    const redis = new Redis(redisUrl, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    redis.on('error', () => undefined);
    redisClients.push(redis);
    await new Promise((resolve) => {
      redis.once('ready', resolve);
      redis.once('end', resolve);
    });
    const config = { rateLimitFor: () => limits } as unknown as AppConfig;
    return new ProviderRateLimiter(redis, config, counter(`limited_${redisClients.length}`), failOpen);
  }

  beforeAll(() => flushTestRedis());
  afterAll(async () => {
    for (const r of redisClients) r.disconnect();
  });

  it('never lets two limiters together exceed the burst, then spaces calls evenly', async () => {
    const limits = { perMinute: 30, perHour: 1000, burst: 4 }; // one call per 2 s after a burst of 4
    const [a, b] = [await limiter(limits), await limiter(limits)];
    const grants: number[] = [];
    const stopAt = Date.now() + 5_000;
    const caller = async (l: ProviderRateLimiter) => {
      while (Date.now() < stopAt) {
        await l.acquire('servicetitan', 'shared-account', stopAt).then(
          () => grants.push(Date.now()),
          () => undefined, // the wait would pass the deadline
        );
      }
    };
    await Promise.all([...Array.from({ length: 5 }, () => caller(a)), ...Array.from({ length: 5 }, () => caller(b))]);
    grants.sort((x, y) => x - y);
    // 4 at once, then at most one every 2 s: within 5 s that is at most 4 + 3.
    expect(grants.length).toBeGreaterThanOrEqual(5);
    expect(grants.length).toBeLessThanOrEqual(7);
    const afterBurst = grants.slice(4);
    for (let i = 1; i < afterBurst.length; i++) expect(afterBurst[i] - afterBurst[i - 1]).toBeGreaterThanOrEqual(1_900);
    for (let i = 0; i < grants.length; i++) {
      // any 2-second window holds at most burst + 1 grants
      expect(grants.filter((g) => g >= grants[i] && g < grants[i] + 2_000).length).toBeLessThanOrEqual(5);
    }
  }, 20_000);

  it('holds the per-minute cap even with a large burst', async () => {
    const l = await limiter({ perMinute: 6, perHour: 1000, burst: 100 });
    for (let i = 0; i < 6; i++) await l.acquire('housecallpro', 'minute-cap');
    const seventh = await Promise.race([
      l.acquire('housecallpro', 'minute-cap', Date.now() + 1_500).then(
        () => 'granted',
        () => 'refused',
      ),
      new Promise((r) => setTimeout(() => r('still waiting'), 2_000)),
    ]);
    expect(seventh).not.toBe('granted');
  });

  it('makes the whole account wait after a provider 429 (cooldown)', async () => {
    const l = await limiter({ perMinute: 10_000, perHour: 100_000, burst: 1_000 });
    await l.coolDown('servicetitan', 'cooled', 1_200);
    const started = Date.now();
    await l.acquire('servicetitan', 'cooled');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
  });

  it('fails open when Redis cannot answer, and counts it', async () => {
    const l = await limiter({ perMinute: 1, perHour: 1, burst: 1 }, 'redis://127.0.0.1:1');
    const before = (await failOpen.get()).values.reduce((n, v) => n + v.value, 0);
    for (let i = 0; i < 3; i++) await l.acquire('servicetitan', 'down');
    const after = (await failOpen.get()).values.reduce((n, v) => n + v.value, 0);
    expect(after - before).toBe(3);
  });

  describe('the sync time limit (deadline)', () => {
    const limits = { perMinute: 60, perHour: 3600, burst: 10 };

    it('lets a call through with a free slot before the deadline', async () => {
      const l = await limiter(limits);
      await expect(l.acquire('servicetitan', 'deadline-free', Date.now() + 10_000)).resolves.toBeUndefined();
    });

    it('starts no call once the deadline has passed, even with a free slot, and takes no slot', async () => {
      const l = await limiter({ perMinute: 60, perHour: 3600, burst: 1 });
      const refused = l.acquire('servicetitan', 'deadline-passed', Date.now() - 1);
      await expect(refused).rejects.toBeInstanceOf(ProviderError);
      await expect(refused).rejects.toMatchObject({ code: 'TIMEOUT', retryable: true });
      // The single burst slot is still free: a call with time left goes at once.
      await expect(l.acquire('servicetitan', 'deadline-passed', Date.now() + 500)).resolves.toBeUndefined();
    });

    it('refuses a wait that would end past the deadline, as a retryable timeout', async () => {
      const l = await limiter(limits);
      await l.coolDown('housecallpro', 'deadline-wait', 5_000);
      await expect(l.acquire('housecallpro', 'deadline-wait', Date.now() + 1_000)).rejects.toMatchObject({
        code: 'TIMEOUT',
        retryable: true,
      });
    });
  });
});
