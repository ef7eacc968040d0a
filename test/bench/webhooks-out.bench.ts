/**
 * bench:webhooks-out: outbound webhooks, from the outbox to a fast local receiver.
 *
 * 1. Latency: BENCH_EVENTS referrals posted at BENCH_RATE/s, each synced by the worker; the commit that makes a
 *    routing `synced` writes its `routing.synced` event (the outbox), which is delivered to an endpoint on a real HTTP
 *    receiver in this process that answers 204 at once. Latency = receipt (this process's clock) − the event's
 *    `timestamp` (taken inside the committing transaction; same host clock).
 * 2. Throughput: BENCH_DELIVERIES outbox deliveries (one event each) written straight into the outbox and queued at
 *    once; deliveries per second until the last one arrived, and the worker's CPU per delivery (signing, sending,
 *    recording the attempt). WEBHOOK_CONCURRENCY at its default (20).
 * Baseline, same run: the same number of bare POSTs of the same bodies from this process to the same receiver, with
 * keep-alive and the same concurrency: what the receiver and the loopback allow.
 * Processes: sandbox, API (APP_MODE=api) and worker (APP_MODE=worker) from dist/; a fresh database (BENCH_DATABASE,
 * default tradeengage_bench_webhooks_out) and Redis db (BENCH_REDIS_URL, default db 14, flushed).
 *
 * Env: BENCH_EVENTS (1000), BENCH_RATE (20), BENCH_DELIVERIES (5000).
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import { Queue } from 'bullmq';
import { Webhook } from 'standardwebhooks';

import { QUEUE, deliverWebhookJob } from '../../src/queue/queues';
import { WebhookReceiver } from '../helpers/webhook-receiver';
import {
  Api,
  CpuMeter,
  Harness,
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
  recreateDatabase,
  redisConnection,
  serviceEnv,
  summary,
  waitUntil,
} from './lib/harness';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1000);
const RATE = Number(process.env.BENCH_RATE ?? 20);
const DELIVERIES = Number(process.env.BENCH_DELIVERIES ?? 5000);
const CONCURRENCY = 20; // WEBHOOK_CONCURRENCY's default
const DB = process.env.BENCH_DATABASE ?? 'tradeengage_bench_webhooks_out';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/14';

/** Bare POSTs from this process: the receiver's and the loopback's own capacity at this concurrency. */
async function barePosts(url: string, bodies: string[]): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const post = (body: string) =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(
        url,
        { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
        (res) => {
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < bodies.length; i = next++) await post(bodies[i]);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return bodies.length / seconds;
}

async function main(): Promise<void> {
  assertBuilt();
  const h = new Harness('webhooks-out');
  const databaseUrl = dbUrl(DB);
  const receiver = await WebhookReceiver.start();
  let queue: Queue | undefined;
  try {
    console.log(
      `webhooks-out: ${EVENTS} events at ${RATE}/s, then ${DELIVERIES} deliveries at once; ${machineLine()}; logs in ${h.logDir}`,
    );
    await recreateDatabase(DB);
    await h.migrate(databaseUrl);
    await flushRedis(REDIS_URL);
    const sandbox = await h.startSandbox();
    const common = { databaseUrl, redisUrl: REDIS_URL, sandboxUrl: sandbox.url };
    const apiProc = await h.startService('api', serviceEnv({ mode: 'api', ...common }));
    const worker = await h.startService('worker', serviceEnv({ mode: 'worker', ...common }));
    const api = new Api(apiProc.url);
    const network = await createNetwork(api, { st: true, hcp: true }, 'outbound');
    const endpoint = await api.expect('POST', '/api/webhook-endpoints', 201, {
      url: receiver.url('/latency'),
      events: ['routing.synced'],
    });

    // ---- 1. Latency: routing change committed → delivery received.
    const posts: Promise<unknown>[] = [];
    const start = performance.now();
    for (let i = 0; i < EVENTS; i++) {
      const wait = start + (i * 1000) / RATE - performance.now();
      if (wait > 0) await sleep(wait);
      const target = i % 2 === 0 ? network.st!.id : network.hcp!.id;
      posts.push(api.expect('POST', '/api/jobs', 201, jobBody(network, target, i)));
    }
    await Promise.all(posts);
    await receiver.waitFor((r) => new Set(r.map((w) => w.id)).size >= EVENTS, 120_000, `${EVENTS} events`);
    const firstReceipt = new Map<string, number>();
    for (const w of receiver.received) if (!firstReceipt.has(w.id)) firstReceipt.set(w.id, w.at);
    const latency = receiver.received
      .filter((w) => w.nth === 0)
      .map((w) => firstReceipt.get(w.id)! - Date.parse(w.json.timestamp));
    const verifier = new Webhook(endpoint.secret as string);
    const invalid = receiver.received.filter((w) => {
      try {
        verifier.verify(w.body, w.headers);
        return false;
      } catch {
        return true;
      }
    }).length;

    // ---- 2. Throughput: DELIVERIES outbox rows queued at once.
    await api.expect('PATCH', `/api/webhook-endpoints/${endpoint.id}`, 200, { url: receiver.url('/burst') });
    const db = await pgClient(databaseUrl);
    const bodies = Array.from({ length: DELIVERIES }, (_, i) =>
      JSON.stringify({
        type: 'routing.completed',
        timestamp: new Date().toISOString(),
        data: { id: randomUUID(), status: 'completed', revenueCents: 10_000 + i, note: 'x'.repeat(600) },
      }),
    );
    const eventIds = bodies.map(() => randomUUID());
    await db.query(
      `INSERT INTO webhook_events (id, type, company_id, job_id, body)
       SELECT id, 'routing.completed', gen_random_uuid(), gen_random_uuid(), body FROM unnest($1::uuid[], $2::text[]) AS e(id, body)`,
      [eventIds, bodies],
    );
    const { rows: deliveries } = await db.query<{ id: string }>(
      `INSERT INTO webhook_deliveries (event_id, endpoint_id, status, next_attempt_at)
       SELECT unnest($1::uuid[]), $2, 'pending', now() RETURNING id`,
      [eventIds, endpoint.id],
    );
    queue = new Queue(QUEUE.webhooks, { connection: redisConnection(REDIS_URL) });
    const cpu = new CpuMeter(
      [
        { name: 'api', pid: apiProc.pid },
        { name: 'worker', pid: worker.pid },
      ],
      DB,
    );
    const burstStart = performance.now();
    const burstStartMs = Date.now();
    await queue.addBulk(deliveries.map((d) => deliverWebhookJob(d.id, 1)));
    await receiver.waitFor((r) => r.filter((w) => w.path === '/burst').length >= DELIVERIES, 300_000, 'the burst');
    const burstSeconds = (performance.now() - burstStart) / 1000;
    const cpuLines = cpu.report({ count: DELIVERIES, unit: 'delivery' });
    await waitUntil(
      'every burst attempt recorded',
      async () =>
        (await db.query(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE status = 'succeeded'`)).rows[0].n >=
        EVENTS + DELIVERIES,
      60_000,
    );
    const recordedSeconds = (Date.now() - burstStartMs) / 1000;
    await db.end();
    const rate = DELIVERIES / burstSeconds;

    // ---- Baseline: bare POSTs of the same bodies to the same receiver.
    const bare = await barePosts(receiver.url('/bare'), bodies);

    header('webhooks-out results', [
      `ratio: service deliveries/s ÷ bare POSTs/s to the same receiver (concurrency ${CONCURRENCY}) = ${fmt(rate, 0)} ÷ ${fmt(bare, 0)} = ${fmt(rate / bare, 3)}×`,
      `change committed → delivery received (n=${latency.length}): ${summary(latency)}; signatures failing standardwebhooks: ${invalid}`,
      `throughput: ${DELIVERIES} deliveries in ${fmt(burstSeconds, 2)} s = ${fmt(rate, 0)} deliveries/s (all attempts recorded after ${fmt(recordedSeconds, 2)} s)`,
      ...cpuLines,
      `p50 ${fmt(pct(latency, 50))} ms, p99 ${fmt(pct(latency, 99))} ms`,
      machineLine(),
    ]);
  } finally {
    await queue?.close();
    await receiver.close();
    await h.stopAll();
  }
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
