/**
 * bench:analytics: the analytics API over 1,000,000 routings of 10,000 companies over 13 months, and what keeping
 * the rollups costs each routing change.
 *
 * A fresh database (tradeengage_bench_analytics, or BENCH_DB) built by the real migrations, bulk-loaded with
 * generate_series (FK triggers skipped, secondary indexes rebuilt after): 10,000 companies (a technician each; as
 * receivers a third each on ServiceTitan, Housecall Pro and Jobber), 750,000 jobs over 395 days (referrers skewed:
 * company i refers ∝ roughly 1/√i), 1,000,000 routings (every third job has two; partners skewed less), 45%
 * completed with revenue, 20% canceled (half of them after in progress), 25% synced at some provider status, 5%
 * permanently failed, 5% pending or failed; a `status_change synced` event per synced routing and a `poll
 * in_progress` event per canceled-after-start one. Then the analytics migration is run again (down, up), so the
 * backfill builds the facts and rollups from that history: its time is reported.
 *
 * 1. Lifecycle cost, in this process against the loaded database: RoutingLifecycle with the real AnalyticsRollup
 *    ("with") and with one that does nothing ("without"), alternating, ROUNDS × each: per round BENCH_CHANGE_JOBS
 *    jobs × 2 routings created (createRoutings in the job's transaction), then two poll passes of 100-routing
 *    batches (recordPollResults: received → scheduled, then → completed with revenue). CPU of this process and of
 *    the PostgreSQL backends of the database, per routing change.
 * 2. Query latency: the service (APP_MODE=api, from dist/) answers each analytics query RUNS× after 3 warm-ups,
 *    one at a time over HTTP on loopback: p50/p99 of the round trip.
 *
 * Env: BENCH_DB, BENCH_REDIS_URL (redis://127.0.0.1:6379/15; api mode only queues nothing), BENCH_RUNS (30),
 * BENCH_CHANGE_JOBS (1000), BENCH_ROUNDS (2), BENCH_SKIP_LOAD=1 (reuse the loaded database).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';

import { Client } from 'pg';
import { Counter, Registry } from 'prom-client';
import { DataSource } from 'typeorm';

import { AnalyticsRollups1765500000000 } from '../../migrations/1765500000000-AnalyticsRollups';
import { AnalyticsRollup } from '../../src/analytics/analytics-rollup';
import { dataSourceOptions } from '../../src/database/data-source';
import { WriteStatement } from '../../src/database/write-statement';
import { RoutingLifecycle } from '../../src/routing/routing-lifecycle';
import { WebhookOutbox } from '../../src/webhooks/webhook-outbox';
import {
  Api,
  BENCH_ADMIN_KEY,
  Harness,
  assertBuilt,
  dbUrl,
  fmt,
  header,
  machineLine,
  pct,
  pgClient,
  postgresBackends,
  processCpuMs,
  recreateDatabase,
  serviceEnv,
} from './lib/harness';

const DB = process.env.BENCH_DB ?? 'tradeengage_bench_analytics';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/15';
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const CHANGE_JOBS = Number(process.env.BENCH_CHANGE_JOBS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const COMPANIES = 10_000;
const JOBS = 750_000;
const DAYS = 395;
// The data spans [START, START + 395 days): 13 months.
const START = Date.UTC(2024, 10, 1);
const DAY = 86_400_000;

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const t = performance.now();
  const result = await fn();
  console.log(`  ${label}: ${fmt((performance.now() - t) / 1000)} s`);
  return result;
}

async function load(client: Client, databaseUrl: string): Promise<void> {
  const started = performance.now();
  await client.query(`SET session_replication_role = replica`);
  await client.query(`SET maintenance_work_mem = '512MB'`);
  const { rows: indexes } = await client.query(
    `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
       FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid
      WHERE i.indrelid IN ('jobs'::regclass, 'routings'::regclass, 'routing_events'::regclass) AND c.oid IS NULL`,
  );
  for (const ix of indexes) await client.query(`DROP INDEX ${ix.name}`);
  await timed('companies, technicians, connections', () =>
    client.query(`
      INSERT INTO companies (id, name, trades, created_at)
        SELECT ('00000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, 'Company ' || g, '{electrical}',
               timestamptz '2024-01-01' FROM generate_series(1, ${COMPANIES}) g;
      INSERT INTO technicians (id, company_id, first_name, last_name)
        SELECT ('00000000-0000-4000-9000-' || lpad(g::text, 12, '0'))::uuid,
               ('00000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, 'Pat', 'Tech' || g
          FROM generate_series(1, ${COMPANIES}) g;
      INSERT INTO connections (id, company_id, provider_type, status, credentials)
        SELECT ('00000000-0000-4000-a000-' || lpad(g::text, 12, '0'))::uuid,
               ('00000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid,
               (ARRAY['servicetitan', 'housecallpro', 'jobber'])[1 + g % 3], 'active', 'bench'
          FROM generate_series(1, ${COMPANIES}) g;`),
  );
  await timed(`${JOBS} jobs`, () =>
    client.query(`
      SELECT setseed(0.15);
      CREATE TEMP TABLE gj AS
        SELECT jn, gen_random_uuid() AS id,
               1 + floor(${COMPANIES} * power(random(), 2))::int AS referrer,
               timestamptz '${new Date(START).toISOString()}' + random() * interval '${DAYS} days' AS created,
               1 + floor(${COMPANIES - 3} * power(random(), 1.5))::int AS partner_offset,
               (ARRAY['electrical', 'plumbing', 'hvac', 'roofing', 'landscaping', NULL])[1 + floor(random() * 6)::int] AS trade
          FROM generate_series(1, ${JOBS}) jn;
      INSERT INTO jobs (id, status, company_id, technician_id, homeowner, address, summary, trade, created_at, updated_at)
        SELECT id, 'open', ('00000000-0000-4000-8000-' || lpad(referrer::text, 12, '0'))::uuid,
               ('00000000-0000-4000-9000-' || lpad(referrer::text, 12, '0'))::uuid, '{}', '{}', 'bench', trade, created, created
          FROM gj;`),
  );
  await timed('1,000,000 routings', () =>
    client.query(`
      CREATE TEMP TABLE gr AS
        SELECT gj.id AS job_id, gj.created, side, gen_random_uuid() AS id, random() AS u, random() AS v,
               1 + (gj.referrer - 1 + gj.partner_offset + side) % ${COMPANIES} AS partner
          FROM gj CROSS JOIN (VALUES (0), (1)) s(side)
         WHERE side = 0 OR gj.jn % 3 = 0;
      INSERT INTO routings (id, job_id, company_id, connection_id, provider_type, status, provider_status, synced_at,
                            completed_at, revenue_cents, status_changed_at, created_at, updated_at)
        SELECT id, job_id, ('00000000-0000-4000-8000-' || lpad(partner::text, 12, '0'))::uuid,
               ('00000000-0000-4000-a000-' || lpad(partner::text, 12, '0'))::uuid,
               (ARRAY['servicetitan', 'housecallpro', 'jobber'])[1 + partner % 3], status, provider_status,
               CASE WHEN status IN ('synced', 'completed', 'canceled') THEN created + (80 + v * 3000) * interval '1 ms' END,
               CASE WHEN status = 'completed' THEN created + interval '1 hour' + v * interval '20 days' END,
               CASE WHEN status = 'completed' THEN 5000 + floor(v * 200000)::int END,
               created + interval '1 hour', created, created
          FROM (SELECT *, CASE WHEN u < 0.45 THEN 'completed' WHEN u < 0.65 THEN 'canceled' WHEN u < 0.90 THEN 'synced'
                               WHEN u < 0.95 THEN 'permanently_failed' WHEN u < 0.975 THEN 'pending' ELSE 'failed' END AS status,
                       CASE WHEN u < 0.45 THEN 'completed' WHEN u < 0.65 THEN 'canceled' WHEN u < 0.75 THEN 'received'
                            WHEN u < 0.83 THEN 'scheduled' WHEN u < 0.90 THEN 'in_progress' END AS provider_status
                  FROM gr) x;
      INSERT INTO routing_events (routing_id, at, type, outcome)
        SELECT id, synced_at, 'status_change', 'synced' FROM routings WHERE synced_at IS NOT NULL
        UNION ALL
        SELECT id, synced_at + interval '1 hour', 'poll', 'in_progress' FROM routings
         WHERE status = 'canceled' AND abs(hashtext(id::text)) % 2 = 0;
      UPDATE jobs j SET status = a.status, revenue_cents = a.revenue, finished_at = CASE WHEN a.status <> 'open' THEN now() END
        FROM (SELECT job_id, CASE WHEN bool_or(status = 'completed') THEN 'completed'
                                  WHEN bool_and(status IN ('canceled', 'permanently_failed')) THEN 'canceled' ELSE 'open' END AS status,
                     sum(revenue_cents) FILTER (WHERE status = 'completed') AS revenue
                FROM routings GROUP BY job_id) a
       WHERE a.job_id = j.id;
      DROP TABLE gj, gr;`),
  );
  for (const ix of indexes) await client.query(ix.def);
  await client.query(`SET session_replication_role = DEFAULT`);
  await timed('VACUUM ANALYZE', () => client.query(`VACUUM ANALYZE companies, jobs, routings, routing_events`));
  // The backfill as a deployment would run it: the analytics migration on the loaded history.
  const ds = new DataSource(dataSourceOptions(databaseUrl, 1));
  await ds.initialize();
  const runner = ds.createQueryRunner();
  const migration = new AnalyticsRollups1765500000000();
  await migration.down(runner);
  await timed('analytics migration on 1,000,000 routings (backfill)', () => migration.up(runner));
  await runner.release();
  await ds.destroy();
  await timed('VACUUM ANALYZE analytics', () => client.query(`VACUUM ANALYZE analytics_routings, analytics_rollups`));
  const { rows } = await client.query(
    `SELECT (SELECT count(*) FROM analytics_routings) AS facts, (SELECT count(*) FROM analytics_rollups) AS rollups,
            pg_size_pretty(pg_total_relation_size('analytics_routings')) AS facts_size,
            pg_size_pretty(pg_total_relation_size('analytics_rollups')) AS rollups_size`,
  );
  console.log(`load: ${JSON.stringify(rows[0])}; ${fmt((performance.now() - started) / 1000)} s in all`);
}

/** An AnalyticsRollup that records nothing: the lifecycle as it was before analytics. */
class NoAnalytics extends AnalyticsRollup {
  override addCreated(): void {}
  override async recordChanges(): Promise<void> {}
}

interface Cost {
  changes: number;
  nodeMs: number;
  pgMs: number;
  wallMs: number;
}

/** One round of lifecycle changes: creations, then two poll passes; CPU of this process and the PG backends. */
async function lifecycleRound(ds: DataSource, lifecycle: RoutingLifecycle, round: string): Promise<Cost> {
  const targets = await ds.query(
    `SELECT c.company_id AS id, c.id AS connection_id, c.provider_type FROM connections c
      ORDER BY hashtext(c.id::text || $1) LIMIT 200`,
    [round],
  );
  const referrer = '00000000-0000-4000-8000-000000000001';
  const backends = () => postgresBackends(DB).reduce((n, pid) => n + processCpuMs(pid), 0);
  const startNode = process.cpuUsage();
  const startPg = backends();
  const started = performance.now();
  const routingIds: { id: string; job_id: string; company_id: string }[] = [];
  for (let i = 0; i < CHANGE_JOBS; i++) {
    const pair = [targets[(2 * i) % targets.length], targets[(2 * i + 1) % targets.length]];
    const statement = new WriteStatement();
    const job = { id: randomUUID(), companyId: referrer, trade: 'electrical' };
    statement.add(
      'new_job',
      `INSERT INTO jobs (id, status, company_id, technician_id, homeowner, address, summary, trade)
       VALUES (${statement.param(job.id, 'uuid')}, 'open', ${statement.param(referrer, 'uuid')},
               '00000000-0000-4000-9000-000000000001', '{}', '{}', 'bench', 'electrical')`,
    );
    const created = lifecycle.createRoutings(
      statement,
      job,
      pair.map((t) => ({ companyId: t.id, providerType: t.provider_type })),
    );
    await statement.run(ds);
    routingIds.push(...created.map((r) => ({ id: r.id, job_id: job.id, company_id: r.companyId })));
  }
  // As a sync would leave them (the sync itself is not the subject): synced through the partner's connection.
  await ds.query(
    `UPDATE routings r SET status = 'synced', provider_status = 'received', synced_at = now(), external_id = r.id::text,
            connection_id = c.id
       FROM connections c WHERE c.company_id = r.company_id AND r.id = ANY($1::uuid[])`,
    [routingIds.map((r) => r.id)],
  );
  const connectionOf = new Map<string, string>(targets.map((t: any) => [t.id, t.connection_id]));
  for (const [status, raw] of [
    ['scheduled', 'Scheduled'],
    ['completed', 'Completed'],
  ] as const) {
    const byConnection = new Map<string, typeof routingIds>();
    for (const r of routingIds) {
      const c = connectionOf.get(r.company_id)!;
      byConnection.set(c, [...(byConnection.get(c) ?? []), r]);
    }
    for (const [connectionId, list] of byConnection) {
      for (let i = 0; i < list.length; i += 100) {
        const batch = list.slice(i, i + 100);
        await lifecycle.recordPollResults(
          connectionId,
          batch.map((r) => ({
            id: r.id,
            jobId: r.job_id,
            externalId: r.id,
            providerStatus: status === 'scheduled' ? 'received' : 'scheduled',
            providerStatusRaw: null,
          })),
          batch.map((r) => ({
            routingId: r.id,
            externalId: r.id,
            status,
            rawStatus: raw,
            completedAt: status === 'completed' ? new Date() : null,
            revenueCents: status === 'completed' ? 12_345 : null,
          })),
        );
      }
    }
  }
  const wallMs = performance.now() - started;
  const node = process.cpuUsage(startNode);
  return {
    changes: routingIds.length * 3,
    nodeMs: (node.user + node.system) / 1000,
    pgMs: backends() - startPg,
    wallMs,
  };
}

async function lifecycleCost(databaseUrl: string): Promise<string[]> {
  const ds = new DataSource(dataSourceOptions(databaseUrl, 4));
  await ds.initialize();
  const registry = new Registry();
  const counter = (name: string, labelNames: string[]) =>
    new Counter({ name, help: name, labelNames, registers: [registry] });
  // No webhook endpoints here: the outbox would add nothing but its look-up; left out of both sides.
  const noOutbox = { record: async () => undefined } as unknown as WebhookOutbox;
  const withRollups = new RoutingLifecycle(
    ds,
    new AnalyticsRollup(
      counter('routing_transitions_total', ['provider', 'to']),
      counter('routing_provider_status_total', ['provider', 'status']),
    ),
    noOutbox,
  );
  const without = new RoutingLifecycle(ds, new NoAnalytics(null as never, null as never), noOutbox);
  const totals = { with: [] as Cost[], without: [] as Cost[] };
  // Warm-up (JIT, plan cache, buffers), not counted.
  await lifecycleRound(ds, withRollups, 'warm-a');
  await lifecycleRound(ds, without, 'warm-b');
  for (let i = 0; i < ROUNDS; i++) {
    totals.without.push(await lifecycleRound(ds, without, `without-${i}`));
    totals.with.push(await lifecycleRound(ds, withRollups, `with-${i}`));
  }
  await ds.destroy();
  const sum = (list: Cost[], k: keyof Cost) => list.reduce((n, c) => n + c[k], 0);
  const line = (label: string, list: Cost[]) => {
    const n = sum(list, 'changes');
    return {
      node: sum(list, 'nodeMs') / n,
      pg: sum(list, 'pgMs') / n,
      wall: sum(list, 'wallMs') / n,
      text:
        `${label}: ${n} routing changes (${ROUNDS} × ${CHANGE_JOBS} jobs × 2 routings × create, poll scheduled, ` +
        `poll completed): node ${fmt(sum(list, 'nodeMs') / n, 3)} + postgres ${fmt(sum(list, 'pgMs') / n, 3)} CPU ms ` +
        `per change; wall ${fmt(sum(list, 'wallMs') / n, 3)} ms per change (sequential)`,
    };
  };
  const w = line('with rollups   ', totals.with);
  const wo = line('without rollups', totals.without);
  return [
    wo.text,
    w.text,
    `extra per routing change: ${fmt(w.node + w.pg - wo.node - wo.pg, 3)} CPU ms ` +
      `(node ${fmt(w.node - wo.node, 3)}, postgres ${fmt(w.pg - wo.pg, 3)}); wall ${fmt(w.wall - wo.wall, 3)} ms`,
  ];
}

async function queryLatency(api: Api, db: Client): Promise<string[]> {
  const iso = (ms: number) => new Date(ms).toISOString();
  // Not aligned to days or months, as a person picks dates: part days and months at both ends.
  const all = { from: iso(START + 0.3 * DAY), to: iso(START + (DAYS - 0.2) * DAY) };
  const last90 = { from: iso(START + (DAYS - 90) * DAY + 5_000), to: iso(START + DAYS * DAY) };
  const last30 = { from: iso(START + (DAYS - 30) * DAY), to: iso(START + DAYS * DAY) };
  const { rows: sizes } = await db.query(
    `SELECT company_id, count(*)::int AS n FROM (SELECT referrer_id AS company_id FROM analytics_routings
       UNION ALL SELECT partner_id FROM analytics_routings) x GROUP BY 1 ORDER BY 2 DESC`,
  );
  const biggest = sizes[0];
  const typical = sizes[Math.floor(sizes.length / 2)];
  const queries: [string, string][] = [
    ['funnel groupBy=day, 13 months', `/api/analytics/funnel?${new URLSearchParams({ ...all, groupBy: 'day' })}`],
    [
      'funnel groupBy=provider, 13 months',
      `/api/analytics/funnel?${new URLSearchParams({ ...all, groupBy: 'provider' })}`,
    ],
    ['funnel groupBy=trade, 90 days', `/api/analytics/funnel?${new URLSearchParams({ ...last90, groupBy: 'trade' })}`],
    [
      'funnel groupBy=partner, 30 days',
      `/api/analytics/funnel?${new URLSearchParams({ ...last30, groupBy: 'partner' })}`,
    ],
    [
      'funnel groupBy=partner, 90 days',
      `/api/analytics/funnel?${new URLSearchParams({ ...last90, groupBy: 'partner' })}`,
    ],
    [
      'funnel groupBy=partner, 13 months',
      `/api/analytics/funnel?${new URLSearchParams({ ...all, groupBy: 'partner' })}`,
    ],
    [
      'funnel groupBy=referrer, 13 months',
      `/api/analytics/funnel?${new URLSearchParams({ ...all, groupBy: 'referrer' })}`,
    ],
    [
      `funnel companyId=biggest (${biggest.n} routings), groupBy=partner, 13 months`,
      `/api/analytics/funnel?${new URLSearchParams({ ...all, groupBy: 'partner', companyId: biggest.company_id })}`,
    ],
    [
      `funnel companyId=biggest, groupBy=day, 13 months`,
      `/api/analytics/funnel?${new URLSearchParams({ ...all, groupBy: 'day', companyId: biggest.company_id })}`,
    ],
    [
      `funnel companyId=typical (${typical.n} routings), groupBy=day, 13 months`,
      `/api/analytics/funnel?${new URLSearchParams({ ...all, groupBy: 'day', companyId: typical.company_id })}`,
    ],
    [
      'referrers/:companyId biggest, 13 months',
      `/api/analytics/referrers/${biggest.company_id}?${new URLSearchParams(all)}`,
    ],
    [
      'referrers/:companyId typical, 13 months',
      `/api/analytics/referrers/${typical.company_id}?${new URLSearchParams(all)}`,
    ],
  ];
  const lines: string[] = [];
  for (const [label, path] of queries) {
    let bytes = 0;
    let groups = 0;
    for (let i = 0; i < 3; i++) await api.expect('GET', path, 200);
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      const res = await fetch(`${api.baseUrl}${path}`, {
        headers: { authorization: `Bearer ${BENCH_ADMIN_KEY}` },
      });
      const text = await res.text();
      times.push(performance.now() - t);
      if (res.status !== 200) throw new Error(`${path}: ${res.status} ${text.slice(0, 300)}`);
      bytes = text.length;
      const body = JSON.parse(text);
      groups = body.groups?.length ?? body.months?.length ?? 0;
    }
    lines.push(
      `${label.padEnd(64)} p50 ${fmt(pct(times, 50)).padStart(6)} ms  p99 ${fmt(pct(times, 99)).padStart(6)} ms  ` +
        `(${groups} groups, ${fmt(bytes / 1024, 0)} kB)`,
    );
  }
  return lines;
}

async function main(): Promise<void> {
  assertBuilt();
  const h = new Harness('analytics');
  const databaseUrl = dbUrl(DB);
  try {
    console.log(`analytics: ${machineLine()}; database ${DB}; logs in ${h.logDir}`);
    if (!process.env.BENCH_SKIP_LOAD) {
      await recreateDatabase(DB);
      await h.migrate(databaseUrl);
      const client = await pgClient(databaseUrl);
      await load(client, databaseUrl);
      await client.end();
    }
    header('lifecycle cost of keeping the rollups', await lifecycleCost(databaseUrl));

    const service = await h.startService(
      'api',
      serviceEnv({ mode: 'api', databaseUrl, redisUrl: REDIS_URL, sandboxUrl: 'http://127.0.0.1:9' }),
    );
    const db = await pgClient(databaseUrl);
    header(`query latency (${RUNS} runs each after 3 warm-ups, sequential HTTP on loopback)`, [
      ...(await queryLatency(new Api(service.url), db)),
      machineLine(),
    ]);
    await db.end();
  } finally {
    await h.stopAll();
  }
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
