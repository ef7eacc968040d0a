/**
 * bench:webhooks-in: provider event → routing updated, over 1,000 provider webhooks against the sandbox.
 *
 * Seeds, through the API and the real sync, BENCH_WEBHOOKS synced routings, half at one ServiceTitan company and
 * half at one Housecall Pro company, whose connections' webhook URLs are subscribed in the sandbox. Then, at a steady
 * rate (open loop), one lifecycle move per routing (`schedule`) through the sandbox control API: the sandbox sends the
 * provider's webhook to the API, which answers and queues the status read that the worker makes through the polling
 * code. No poll sweep runs (POLL_CRON far away).
 * Latency = the routing's `poll` event (written in the transaction that updates it; PostgreSQL clock) − the moment
 * the bench sent the move (same host clock). Also: how long the API took to answer each webhook (the sandbox's
 * delivery log).
 * Baseline, same run: one status read of one routing through the service's own provider code, straight to the
 * sandbox (sequential, service idle): the provider round trip a webhook causes.
 * Processes: sandbox, API (APP_MODE=api) and worker (APP_MODE=worker) from dist/; a fresh database (BENCH_DATABASE,
 * default tradeengage_bench_webhooks_in) and Redis db (BENCH_REDIS_URL, default db 13, flushed).
 *
 * Env: BENCH_WEBHOOKS (1000), BENCH_RATE (moves/s, 20), BENCH_BASELINE_SAMPLES (200).
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import { HousecallProClient } from '../../src/providers/housecallpro/housecallpro.client';
import { HousecallProProvider } from '../../src/providers/housecallpro/housecallpro.provider';
import { ServiceTitanClient } from '../../src/providers/servicetitan/servicetitan.client';
import { ServiceTitanProvider } from '../../src/providers/servicetitan/servicetitan.provider';
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
  mapLimit,
  pct,
  pgClient,
  recreateDatabase,
  serviceEnv,
  summary,
  waitUntil,
} from './lib/harness';

const COUNT = Number(process.env.BENCH_WEBHOOKS ?? 1000);
const RATE = Number(process.env.BENCH_RATE ?? 20);
const BASELINE_SAMPLES = Number(process.env.BENCH_BASELINE_SAMPLES ?? 200);
const DB = process.env.BENCH_DATABASE ?? 'tradeengage_bench_webhooks_in';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/13';

type Provider = 'servicetitan' | 'housecallpro';

async function main(): Promise<void> {
  assertBuilt();
  const h = new Harness('webhooks-in');
  const databaseUrl = dbUrl(DB);
  try {
    console.log(`webhooks-in: ${COUNT} provider webhooks at ${RATE}/s; ${machineLine()}; logs in ${h.logDir}`);
    await recreateDatabase(DB);
    await h.migrate(databaseUrl);
    await flushRedis(REDIS_URL);
    const sandbox = await h.startSandbox();
    const common = { databaseUrl, redisUrl: REDIS_URL, sandboxUrl: sandbox.url };
    const apiProc = await h.startService('api', serviceEnv({ mode: 'api', ...common }));
    const worker = await h.startService('worker', serviceEnv({ mode: 'worker', ...common }));
    const api = new Api(apiProc.url);
    const network = await createNetwork(api, { st: true, hcp: true }, 'webhooks');

    // Each connection's webhook URL, on the API process's address.
    const subscribe = async (companyId: string, provider: Provider) => {
      const [connection] = (await api.get(`/api/companies/${companyId}/connections`)).body.items;
      const url = `${apiProc.url}${new URL(connection.webhookUrl as string).pathname}`;
      if (provider === 'servicetitan') await sandbox.control.setServiceTitanWebhook(network.st!.tenantId, url);
      else await sandbox.control.setHousecallProWebhook(network.hcp!.apiKey, url);
    };
    await subscribe(network.st!.id, 'servicetitan');
    await subscribe(network.hcp!.id, 'housecallpro');

    // ---- Seed: COUNT routings, synced.
    const routings = await mapLimit(
      Array.from({ length: COUNT }, (_, i) => i),
      10,
      async (i) => {
        const provider: Provider = i % 2 === 0 ? 'servicetitan' : 'housecallpro';
        const target = provider === 'servicetitan' ? network.st!.id : network.hcp!.id;
        const job = await api.expect('POST', '/api/jobs', 201, jobBody(network, target, i));
        return { id: job.routings[0].id as string, provider };
      },
    );
    const db = await pgClient(databaseUrl);
    await waitUntil(
      'every routing to be synced',
      async () =>
        (await db.query(`SELECT count(*)::int AS n FROM routings WHERE status = 'synced'`)).rows[0].n === COUNT,
      180_000,
    );
    const { rows: synced } = await db.query<{ id: string; external_id: string }>(
      `SELECT id, external_id FROM routings`,
    );
    const externalId = new Map(synced.map((r) => [r.id, r.external_id]));

    // ---- Baseline: one status read through the provider code, straight to the sandbox.
    const settings = { authUrl: sandbox.url, apiUrl: sandbox.url, appKey: 'bench-app-key', requestTimeoutMs: 15_000 };
    const readOne = {
      servicetitan: (id: string) =>
        new ServiceTitanProvider(new ServiceTitanClient(settings)).getStatuses({
          credentials: {
            tenantId: network.st!.tenantId,
            clientId: 'cid.webhooks',
            clientSecret: 'cs.webhooks.secret',
            bookingProviderId: '7',
          },
          queries: [{ routingId: 'r', externalId: id }],
        }),
      housecallpro: (id: string) =>
        new HousecallProProvider(new HousecallProClient(settings)).getStatuses({
          credentials: { apiKey: network.hcp!.apiKey },
          queries: [{ routingId: 'r', externalId: id }],
        }),
    };
    const baseline: Record<Provider, number[]> = { servicetitan: [], housecallpro: [] };
    for (let i = 0; i < BASELINE_SAMPLES + 20; i++) {
      const r = routings[i % routings.length];
      const t = performance.now();
      await readOne[r.provider](externalId.get(r.id)!);
      if (i >= 20) baseline[r.provider].push(performance.now() - t);
    }

    // ---- Load: one provider event per routing at a steady rate (open loop).
    await sandbox.control.clearWebhookDeliveries();
    const cpu = new CpuMeter(
      [
        { name: 'sandbox', pid: sandbox.pid },
        { name: 'api', pid: apiProc.pid },
        { name: 'worker', pid: worker.pid },
      ],
      DB,
    );
    const sentAt = new Map<string, number>();
    const moves: Promise<unknown>[] = [];
    const start = performance.now();
    for (let i = 0; i < routings.length; i++) {
      const due = start + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const r = routings[i];
      sentAt.set(r.id, Date.now());
      const id = externalId.get(r.id)!;
      moves.push(
        r.provider === 'servicetitan' ? sandbox.control.scheduleBooking(id) : sandbox.control.scheduleHcpJob(id),
      );
    }
    await Promise.all(moves);
    const waitedMs = await waitUntil(
      'every routing to show scheduled',
      async () =>
        (await db.query(`SELECT count(*)::int AS n FROM routings WHERE provider_status = 'scheduled'`)).rows[0].n ===
        COUNT,
      120_000,
    );
    const cpuLines = cpu.report({ count: COUNT, unit: 'webhook' });
    const { rows } = await db.query<{ id: string; at_ms: string }>(
      `SELECT routing_id AS id, extract(epoch FROM at) * 1000 AS at_ms FROM routing_events
        WHERE type = 'poll' AND outcome = 'scheduled'`,
    );
    await db.end();
    const deliveries = await sandbox.control.webhookDeliveries({ limit: 5000 });
    const metrics = await (await fetch(`${apiProc.url}/metrics`)).text();
    const received = (outcome: string) =>
      [
        ...metrics.matchAll(
          new RegExp(`^webhook_events_received_total\\{provider="[^"]+",outcome="${outcome}"\\} (\\d+)`, 'gm'),
        ),
      ]
        .map((m) => Number(m[1]))
        .reduce((a, b) => a + b, 0);

    const providerOf = new Map(routings.map((r) => [r.id, r.provider]));
    const latency: Record<Provider | 'all', number[]> = { all: [], servicetitan: [], housecallpro: [] };
    for (const row of rows) {
      const ms = Number(row.at_ms) - sentAt.get(row.id)!;
      latency.all.push(ms);
      latency[providerOf.get(row.id)!].push(ms);
    }
    const answered = deliveries.filter((d) => d.durationMs !== null).map((d) => d.durationMs!);
    const statuses = new Map<string, number>();
    for (const d of deliveries) statuses.set(String(d.status), (statuses.get(String(d.status)) ?? 0) + 1);
    const base = pct([...baseline.servicetitan, ...baseline.housecallpro], 50);
    const p50 = pct(latency.all, 50);
    header('webhooks-in results', [
      `ratio: provider event → routing updated p50 ÷ one status read round trip p50 = ${fmt(p50)} ÷ ${fmt(base, 2)} = ${fmt(p50 / base, 2)}×`,
      `provider event → routing updated, all (n=${latency.all.length} of ${COUNT}): ${summary(latency.all)}`,
      `  ServiceTitan:   ${summary(latency.servicetitan)}`,
      `  Housecall Pro:  ${summary(latency.housecallpro)}`,
      `webhook answered by the API (sandbox delivery log): ${summary(answered)}; statuses ${[...statuses].map(([s, n]) => `${s}×${n}`).join(' ')}`,
      `webhook_events_received_total: accepted ${received('accepted')}, duplicate ${received('duplicate')}, ignored ${received('ignored')}`,
      `baseline, one status read through the provider code (sequential, service idle): ServiceTitan ${summary(baseline.servicetitan)}; Housecall Pro ${summary(baseline.housecallpro)}`,
      `sent ${COUNT} moves at ${RATE}/s; every routing showed scheduled ${fmt(waitedMs / 1000)} s after the last move`,
      ...cpuLines,
      machineLine(),
    ]);
  } finally {
    await h.stopAll();
  }
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
