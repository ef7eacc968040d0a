/**
 * bench:sweeps: the sweeps' SQL on a table of 1,000,000 routings.
 *
 * A fresh database (tradeengage_bench_sweeps) built by the real migrations (node dist/src/database/migrate.js),
 * bulk-loaded with generate_series: 500 companies (100 referrers with a technician each, 400 receivers, half
 * ServiceTitan, skewed sizes), 500,000 jobs and 1,000,000 routings (2 per job):
 * ~1% pending, ~0.5% failed (next_retry_at spread ±1 h around now), ~10% synced (last_polled_at spread over the
 * last 30 min, 5% never polled), ~0.1% syncing (status_changed_at over the last 2 h), ~0.4% permanently_failed,
 * the rest completed (78%) / canceled (10%). Job status follows the routings as refreshJobAggregates computes it;
 * finished jobs span 180 days, so part of them is past the 90-day archive cutoff.
 * For the load only, the secondary indexes are dropped and rebuilt afterwards from their own definitions
 * (pg_get_indexdef) and FK triggers are skipped (session_replication_role = replica); then VACUUM ANALYZE.
 *
 * Each query, copied from the code with the service's default parameters, is run 2× to warm up and then timed
 * RUNS× (median); EXPLAIN (ANALYZE, BUFFERS) is printed and checked for a Seq Scan on routings/jobs.
 * Baseline, same run and session: the same queries with enable_indexscan, enable_bitmapscan and
 * enable_indexonlyscan off (what they cost without their indexes); ratio = baseline ÷ indexed.
 * Statements that write (FOR UPDATE, UPDATE, the archive batch) run inside BEGIN … ROLLBACK.
 *
 * Env: BENCH_JOBS (500000; routings = 2×), BENCH_RUNS (20), BENCH_SKIP_LOAD=1 (reuse the loaded database).
 */
import { performance } from 'node:perf_hooks';

import { Client } from 'pg';

import {
  Harness,
  assertBuilt,
  dbUrl,
  fmt,
  header,
  machineLine,
  median,
  pgClient,
  recreateDatabase,
} from './lib/harness';
import { reportResult } from './lib/results';

const JOBS = Number(process.env.BENCH_JOBS ?? 500_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const DB = 'tradeengage_bench_sweeps';
const RECEIVERS = 400;
const REFERRERS = 100;
// The service's defaults (src/config/env.ts, app-config.ts, cleanup.service.ts).
const SYNC_BATCH_SIZE = 50;
const RETRY_BATCH_SIZE = 25;
const POLL_BATCH_SIZE = 100;
const ARCHIVE_AFTER_DAYS = 90;
const ARCHIVE_BATCH_SIZE = 500;
const SYNC_STALE_AFTER_MS = 30 * 60_000 + 2 * 15_000;

async function timed(client: Client, label: string, sql: string): Promise<void> {
  const t = performance.now();
  await client.query(sql);
  console.log(`  ${label}: ${fmt((performance.now() - t) / 1000)} s`);
}

async function load(client: Client): Promise<void> {
  const started = performance.now();
  await client.query(`SET session_replication_role = replica`); // no FK triggers during the bulk load
  await client.query(`SET maintenance_work_mem = '256MB'`);
  const { rows: indexes } = await client.query(
    `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
       FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid
      WHERE i.indrelid IN ('jobs'::regclass, 'routings'::regclass) AND c.oid IS NULL`,
  );
  for (const ix of indexes) await client.query(`DROP INDEX ${ix.name}`);
  console.log(
    `load: dropped ${indexes.length} secondary indexes for the load (${indexes.map((i) => i.name).join(', ')})`,
  );

  await timed(
    client,
    'companies + technicians',
    `SELECT setseed(0.42);
     CREATE TEMP TABLE cm AS
       SELECT g AS idx, gen_random_uuid() AS id, gen_random_uuid() AS connection_id,
              CASE WHEN g % 2 = 0 THEN 'servicetitan' ELSE 'housecallpro' END AS provider_type
         FROM generate_series(0, ${RECEIVERS - 1}) g;
     CREATE TEMP TABLE rm AS
       SELECT g AS idx, gen_random_uuid() AS company_id, gen_random_uuid() AS technician_id FROM generate_series(0, ${REFERRERS - 1}) g;
     INSERT INTO companies (id, name, trades, created_at)
       SELECT id, 'Receiver ' || idx, '{electrical}', now() - interval '400 days' FROM cm;
     INSERT INTO companies (id, name, trades, created_at)
       SELECT company_id, 'Referrer ' || idx, '{plumbing}', now() - interval '400 days' FROM rm;
     INSERT INTO connections (id, company_id, provider_type, status, credentials, created_at)
       SELECT connection_id, id, provider_type, 'active', 'v1.bench.bench.bench', now() - interval '400 days' FROM cm;
     INSERT INTO technicians (id, company_id, first_name, last_name, phone)
       SELECT technician_id, company_id, 'Pat', 'Tech' || idx, '+15125550100' FROM rm;`,
  );
  await timed(
    client,
    `generate ${JOBS} jobs × 2 routings (temp tables)`,
    `CREATE TEMP TABLE gj AS
       SELECT jn, gen_random_uuid() AS id, jn % ${REFERRERS} AS ref_idx,
              floor(${RECEIVERS} * power(random(), 2))::int AS ca, random() AS age_u, random() AS u1
         FROM generate_series(1, ${JOBS}) jn;
     CREATE TEMP TABLE gr AS
       SELECT jn, side, jn * 2 + side AS rn, id, cidx, v, w,
              CASE WHEN u < 0.010 THEN 'pending' WHEN u < 0.015 THEN 'failed' WHEN u < 0.115 THEN 'synced'
                   WHEN u < 0.116 THEN 'syncing' WHEN u < 0.120 THEN 'permanently_failed'
                   WHEN u < 0.900 THEN 'completed' ELSE 'canceled' END AS status
         FROM (SELECT g.jn, s.side, gen_random_uuid() AS id,
                      CASE WHEN s.side = 0 THEN g.ca ELSE (g.ca + 1 + floor(random() * ${RECEIVERS - 1})::int) % ${RECEIVERS} END AS cidx,
                      random() AS u, random() AS v, random() AS w
                 FROM gj g CROSS JOIN (VALUES (0), (1)) s(side)) x;
     CREATE TEMP TABLE ja AS
       SELECT g.jn, g.id, g.ref_idx, a.status, c.created,
              CASE WHEN a.status IN ('completed', 'canceled') THEN c.created + (now() - c.created) * (0.2 + 0.5 * g.u1) END AS finished
         FROM gj g
         JOIN (SELECT jn,
                      CASE WHEN bool_or(status = 'completed') THEN 'completed'
                           WHEN bool_and(status IN ('canceled', 'permanently_failed')) THEN 'canceled' ELSE 'open' END AS status,
                      bool_or(status IN ('pending', 'failed', 'synced', 'syncing')) AS active
                 FROM gr GROUP BY jn) a USING (jn)
         CROSS JOIN LATERAL (SELECT now() - (CASE WHEN a.active THEN 30 ELSE 180 END) * g.age_u * interval '1 day' AS created) c;`,
  );
  await timed(
    client,
    'INSERT jobs',
    `INSERT INTO jobs (id, status, company_id, technician_id, homeowner, address, summary, trade, revenue_cents,
                       completed_at, finished_at, created_at, updated_at)
     SELECT j.id, j.status, rm.company_id, rm.technician_id,
            jsonb_build_object('firstName', 'Home', 'lastName', 'Owner' || j.jn, 'phone', '+1512' || lpad((2000000 + j.jn)::text, 7, '0'),
                               'email', 'homeowner' || j.jn || '@example.com'),
            jsonb_build_object('street', j.jn || ' Congress Ave', 'unit', null, 'city', 'Austin', 'state', 'TX', 'zip', '78701', 'country', 'US'),
            'Breaker trips when the dryer runs', 'electrical',
            CASE WHEN j.status = 'completed' THEN 10000 + j.jn % 50000 END,
            CASE WHEN j.status = 'completed' THEN j.finished END,
            j.finished, j.created, coalesce(j.finished, j.created)
       FROM ja j JOIN rm ON rm.idx = j.ref_idx`,
  );
  await timed(
    client,
    'INSERT routings',
    `INSERT INTO routings (id, job_id, company_id, connection_id, create_sent, provider_type, status, external_id, provider_status, provider_status_raw,
                           attempts, next_retry_at, last_error, synced_at, last_polled_at, completed_at, revenue_cents,
                           status_changed_at, claim_token, created_at, updated_at)
     SELECT r.id, j.id, cm.id, CASE WHEN r.status <> 'pending' THEN cm.connection_id END, r.status <> 'pending',
            cm.provider_type, r.status,
            CASE WHEN r.status IN ('synced', 'completed', 'canceled') THEN 'ext-' || r.rn END,
            CASE r.status WHEN 'synced' THEN 'received' WHEN 'completed' THEN 'completed' WHEN 'canceled' THEN 'canceled' END,
            CASE r.status WHEN 'synced' THEN 'New' WHEN 'completed' THEN 'Completed' WHEN 'canceled' THEN 'Canceled' END,
            CASE r.status WHEN 'pending' THEN 0 WHEN 'failed' THEN 1 + floor(r.v * 2)::int WHEN 'permanently_failed' THEN 3 ELSE 1 END,
            CASE WHEN r.status = 'failed' THEN now() + (r.v - 0.5) * interval '2 hours' END,
            CASE WHEN r.status IN ('failed', 'permanently_failed') THEN 'HTTP 503 from the provider' END,
            CASE WHEN r.status IN ('synced', 'completed', 'canceled') THEN j.created + interval '1 second' END,
            CASE WHEN r.status = 'synced' THEN CASE WHEN r.w < 0.05 THEN NULL ELSE now() - r.v * interval '30 minutes' END
                 WHEN r.status IN ('completed', 'canceled') THEN coalesce(j.finished, now() - r.v * interval '1 day') END,
            CASE WHEN r.status = 'completed' THEN coalesce(j.finished, now() - r.v * interval '1 day') END,
            CASE WHEN r.status = 'completed' THEN 10000 + r.rn % 50000 END,
            CASE WHEN r.status = 'syncing' THEN now() - r.v * interval '2 hours'
                 WHEN r.status IN ('completed', 'canceled') THEN coalesce(j.finished, now() - r.v * interval '1 day')
                 ELSE j.created END,
            CASE WHEN r.status = 'syncing' THEN gen_random_uuid() END,
            j.created, now()
       FROM gr r JOIN ja j USING (jn) JOIN cm ON cm.idx = r.cidx`,
  );
  await client.query(`DROP TABLE gj, gr, ja, cm, rm`);
  for (const ix of indexes) await timed(client, `rebuild ${ix.name}`, ix.def);
  await client.query(`SET session_replication_role = DEFAULT`);
  await timed(client, 'VACUUM ANALYZE', `VACUUM ANALYZE companies, connections, technicians, jobs, routings`);
  console.log(`load: ${fmt((performance.now() - started) / 1000)} s in all`);
}

interface SweepQuery {
  name: string;
  source: string;
  sql: string;
  params: () => unknown[];
  /** Runs inside BEGIN … ROLLBACK (locks or writes). */
  tx?: boolean;
  extra?: boolean;
}

async function runOnce(client: Client, q: SweepQuery, sql = q.sql): Promise<{ ms: number; rows: any[] }> {
  if (q.tx) await client.query('BEGIN');
  try {
    const t = performance.now();
    const res = await client.query(sql, q.params());
    return { ms: performance.now() - t, rows: res.rows };
  } finally {
    if (q.tx) await client.query('ROLLBACK');
  }
}

async function measure(
  client: Client,
  q: SweepQuery,
): Promise<{ median: number; runs: number; plan: string; rows: number }> {
  const warm = await runOnce(client, q);
  await runOnce(client, q);
  const runs = warm.ms > 400 ? Math.min(RUNS, 3) : RUNS; // slow (seq-scan baselines): a few runs, to keep the bench short
  const times: number[] = [];
  let rows = 0;
  for (let i = 0; i < runs; i++) {
    const r = await runOnce(client, q);
    times.push(r.ms);
    rows = r.rows.length;
  }
  const explained = await runOnce(client, q, `EXPLAIN (ANALYZE, BUFFERS) ${q.sql}`);
  return { median: median(times), runs, plan: explained.rows.map((r) => r['QUERY PLAN']).join('\n'), rows };
}

// Without its index a skip scan becomes one sequential scan per connection: minutes per run. The baseline gives up.
const BASELINE_TIMEOUT_MS = 3000;

const baselineMs = (ms: number) => (Number.isNaN(ms) ? `> ${BASELINE_TIMEOUT_MS}` : fmt(ms, 2));
const baselineRatio = (seq: number, idx: number) =>
  Number.isNaN(seq) ? `> ${fmt(BASELINE_TIMEOUT_MS / idx, 0)}×` : `${fmt(seq / idx, 1)}×`;

async function withoutIndexes(client: Client, q: SweepQuery): ReturnType<typeof measure> {
  await client.query('SET enable_indexscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off');
  await client.query(`SET statement_timeout = ${BASELINE_TIMEOUT_MS}`);
  try {
    return await measure(client, q);
  } catch (error) {
    if (!/statement timeout/.test((error as Error).message)) throw error;
    if (q.tx) await client.query('ROLLBACK').catch(() => undefined);
    return { median: NaN, runs: 0, plan: `(timed out after ${BASELINE_TIMEOUT_MS} ms)`, rows: 0 };
  } finally {
    await client.query('RESET statement_timeout');
    await client.query('RESET enable_indexscan; RESET enable_bitmapscan; RESET enable_indexonlyscan');
  }
}

async function main(): Promise<void> {
  assertBuilt();
  const h = new Harness('sweeps');
  const databaseUrl = dbUrl(DB);
  try {
    console.log(`sweeps: ${JOBS} jobs, ${JOBS * 2} routings; ${machineLine()}`);
    if (process.env.BENCH_SKIP_LOAD !== '1') {
      await recreateDatabase(DB);
      await h.migrate(databaseUrl);
      const loader = await pgClient(databaseUrl);
      await load(loader);
      await loader.end();
    } else {
      // The loaded database, with any migration added since (new indexes) applied.
      await h.migrate(databaseUrl);
      const loader = await pgClient(databaseUrl);
      await timed(loader, 'VACUUM ANALYZE', `VACUUM ANALYZE connections, jobs, routings`);
      await loader.end();
    }
    const client = await pgClient(databaseUrl);
    const dist = await client.query(`SELECT status, count(*)::int AS n FROM routings GROUP BY status ORDER BY n DESC`);
    const jobDist = await client.query(`SELECT status, count(*)::int AS n FROM jobs GROUP BY status ORDER BY n DESC`);
    const sizes = await client.query(
      `SELECT c.relname AS name, pg_size_pretty(pg_relation_size(c.oid)) AS size
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')
          AND (c.relname LIKE 'routings%' OR c.relname LIKE 'jobs%') ORDER BY pg_relation_size(c.oid) DESC`,
    );
    const archivable = await client.query(
      `SELECT count(*)::int AS n FROM jobs WHERE finished_at < now() - interval '${ARCHIVE_AFTER_DAYS} days' AND status IN ('completed', 'canceled')`,
    );
    const dueRetry = await client.query(
      `SELECT count(*)::int AS n FROM routings WHERE status = 'failed' AND next_retry_at <= now()`,
    );
    const stuck = await client.query(
      `SELECT count(*)::int AS n FROM routings WHERE status = 'syncing' AND status_changed_at < now() - $1 * interval '1 millisecond'`,
      [SYNC_STALE_AFTER_MS],
    );
    const biggest = await client.query(
      `SELECT connection_id, count(*)::int AS n FROM routings WHERE status = 'synced' GROUP BY connection_id ORDER BY n DESC LIMIT 1`,
    );
    const pollConnectionId: string = biggest.rows[0].connection_id;
    const stuckIds: string[] = (
      await client.query(
        `SELECT id FROM routings WHERE status = 'syncing' AND status_changed_at < now() - $1 * interval '1 millisecond'`,
        [SYNC_STALE_AFTER_MS],
      )
    ).rows.map((r) => r.id as string);
    header('data', [
      `routings: ${dist.rows.map((r) => `${r.status}=${r.n}`).join(' ')}`,
      `jobs: ${jobDist.rows.map((r) => `${r.status}=${r.n}`).join(' ')}; past the ${ARCHIVE_AFTER_DAYS}-day cutoff: ${archivable.rows[0].n}`,
      `failed and due: ${dueRetry.rows[0].n}; syncing and stale (> ${SYNC_STALE_AFTER_MS} ms): ${stuck.rows[0].n}; ` +
        `largest connection by synced routings: ${pollConnectionId} (${biggest.rows[0].n})`,
      `sizes: ${sizes.rows.map((r) => `${r.name} ${r.size}`).join(', ')}`,
    ]);

    const cutoff = () => new Date(Date.now() - ARCHIVE_AFTER_DAYS * 86_400_000);
    // The copy names its columns, as cleanup.service.ts does.
    const routingColumns = (
      await client.query(
        `SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) AS list FROM pg_attribute
          WHERE attrelid = 'routings'::regclass AND attnum > 0 AND NOT attisdropped`,
      )
    ).rows[0].list as string;
    let archiveIds: string[] = [];
    const queries: SweepQuery[] = [
      {
        name: 'sync sweep: pendingRoutingIds',
        source: 'src/sync/sync.service.ts',
        sql: `SELECT id FROM routings WHERE status = 'pending' ORDER BY created_at LIMIT $1`,
        params: () => [SYNC_BATCH_SIZE],
      },
      {
        name: 'retry sweep: dueRetries',
        source: 'src/sync/sync.service.ts',
        sql: `SELECT id, next_retry_at FROM routings WHERE status = 'failed' AND next_retry_at <= now() ORDER BY next_retry_at LIMIT $1`,
        params: () => [RETRY_BATCH_SIZE],
      },
      {
        name: 'poll sweep: connectionsToPoll',
        source: 'src/polling/polling.service.ts',
        sql: `SELECT c.id AS connection_id FROM connections c
  CROSS JOIN LATERAL (SELECT r.last_polled_at FROM routings r
                       WHERE r.connection_id = c.id AND r.status = 'synced'
                       ORDER BY r.last_polled_at NULLS FIRST LIMIT 1) oldest
  ORDER BY oldest.last_polled_at NULLS FIRST`,
        params: () => [],
      },
      {
        name: 'poll: pollConnection batch (largest connection)',
        source: 'src/polling/polling.service.ts',
        sql: `SELECT id, job_id, external_id, provider_status, provider_status_raw, synced_at FROM routings
          WHERE connection_id = $1 AND status = 'synced' AND external_id IS NOT NULL
            AND (last_polled_at IS NULL OR last_polled_at < $2)
          ORDER BY last_polled_at NULLS FIRST LIMIT $3`,
        params: () => [pollConnectionId, new Date(), POLL_BATCH_SIZE],
      },
      {
        name: 'cleanup: archive batch select',
        source: 'src/cleanup/cleanup.service.ts',
        sql: `SELECT id FROM jobs WHERE finished_at < $1 AND status IN ('completed', 'canceled')
            ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
        params: () => [cutoff(), ARCHIVE_BATCH_SIZE],
        tx: true,
      },
      {
        name: 'cleanup: rescueStuck, find (every sweep)',
        source: 'src/routing/routing-lifecycle.ts',
        sql: `SELECT id FROM routings
  WHERE status = 'syncing' AND status_changed_at < now() - $1 * interval '1 millisecond'`,
        params: () => [SYNC_STALE_AFTER_MS],
      },
      {
        name: 'cleanup: rescueStuck, UPDATE of the routings found (the backlog)',
        source: 'src/routing/routing-lifecycle.ts',
        sql: `UPDATE routings SET status = 'failed', next_retry_at = now(), claim_token = NULL,
         last_error = 'sync attempt abandoned (worker stopped); will retry', status_changed_at = now(), updated_at = now()
   WHERE id = ANY($1::uuid[]) AND status = 'syncing' AND status_changed_at < now() - $2 * interval '1 millisecond'
  RETURNING id, job_id`,
        params: () => [stuckIds, SYNC_STALE_AFTER_MS],
        tx: true,
      },
      {
        name: 'extra: before, poll sweep GROUP BY over synced routings',
        source: 'src/polling/polling.service.ts before issue 13',
        sql: `SELECT connection_id FROM routings WHERE status = 'synced' AND connection_id IS NOT NULL
        GROUP BY connection_id ORDER BY min(last_polled_at) NULLS FIRST`,
        params: () => [],
        extra: true,
      },
      {
        name: 'extra: before, rescue as one UPDATE',
        source: 'src/routing/routing-lifecycle.ts before issue 13',
        sql: `UPDATE routings SET status = 'failed', next_retry_at = now(), claim_token = NULL,
                last_error = 'sync attempt abandoned (worker stopped); will retry', status_changed_at = now(), updated_at = now()
          WHERE status = 'syncing' AND status_changed_at < now() - $1 * interval '1 millisecond'
          RETURNING id, job_id`,
        params: () => [SYNC_STALE_AFTER_MS],
        tx: true,
        extra: true,
      },
      {
        name: 'extra: archive batch, copy routings of the 500 jobs',
        source: 'src/cleanup/cleanup.service.ts',
        sql: `INSERT INTO archived_routings (${routingColumns}, archived_at)
          SELECT ${routingColumns}, now() FROM routings WHERE job_id = ANY($1::uuid[])`,
        params: () => [archiveIds],
        tx: true,
        extra: true,
      },
      {
        name: 'extra: archive batch, DELETE jobs (cascades to routings, events)',
        source: 'src/cleanup/cleanup.service.ts',
        sql: `DELETE FROM jobs WHERE id = ANY($1::uuid[])`,
        params: () => [archiveIds],
        tx: true,
        extra: true,
      },
      {
        name: 'extra: routings gauge on every /metrics scrape (not a sweep)',
        source: 'src/metrics/state-gauges.ts',
        sql: `SELECT status, count(*)::int AS n FROM routings GROUP BY status`,
        params: () => [],
        extra: true,
      },
    ];
    archiveIds = (await runOnce(client, queries[4])).rows.map((r) => r.id as string);

    const results: {
      q: SweepQuery;
      idx: Awaited<ReturnType<typeof measure>>;
      seq: Awaited<ReturnType<typeof measure>>;
    }[] = [];
    for (const q of queries) {
      await client.query('RESET enable_indexscan; RESET enable_bitmapscan; RESET enable_indexonlyscan');
      const idx = await measure(client, q);
      const seq = await withoutIndexes(client, q);
      results.push({ q, idx, seq });
      console.log(`measured: ${q.name}`);
    }
    // Steady state of the rescue sweep: the backlog above is what a first sweep after a long outage finds; every
    // later sweep finds only what got stuck since. Commit one rescue of the backlog (as that first sweep would),
    // VACUUM, and time the find again (this changes the loaded data: the backlog is now `failed`).
    const rescueFind = queries.find((q) => q.name.startsWith('cleanup: rescueStuck, find'))!;
    await client.query(
      `UPDATE routings SET status = 'failed', next_retry_at = now(), claim_token = NULL, status_changed_at = now()
        WHERE status = 'syncing' AND status_changed_at < now() - $1 * interval '1 millisecond'`,
      [SYNC_STALE_AFTER_MS],
    );
    await client.query(`VACUUM ANALYZE routings`);
    const steady: SweepQuery = { ...rescueFind, name: 'cleanup: rescueStuck, find, steady state (backlog rescued)' };
    results.push({ q: steady, idx: await measure(client, steady), seq: await withoutIndexes(client, steady) });
    await client.end();

    const seqScan = (plan: string) => [...new Set(plan.match(/(?:Parallel )?Seq Scan on (?:routings|jobs)\b/g) ?? [])];
    const scans = (plan: string) => [
      ...new Set(
        plan.match(/(?:Parallel )?(?:Seq|Index Only|Index|Bitmap Heap|Bitmap Index) Scan(?: using \S+)? on \S+/g) ?? [],
      ),
    ];
    for (const { q, idx, seq } of results) {
      header(`${q.name}  (${q.source}${q.tx ? ', in BEGIN … ROLLBACK' : ''})`, [
        q.sql.replace(/\s+/g, ' ').trim(),
        `with the indexes: median ${fmt(idx.median, 2)} ms over ${idx.runs} runs, ${idx.rows} rows; scans: ${scans(idx.plan).join('; ')}`,
        `baseline (index scans off): median ${baselineMs(seq.median)} ms over ${seq.runs} runs; ratio baseline ÷ indexed = ${baselineRatio(seq.median, idx.median)}`,
        `Seq Scan on routings/jobs with the indexes: ${seqScan(idx.plan).length ? `YES (${seqScan(idx.plan).join(', ')})` : 'no'}`,
        'EXPLAIN (ANALYZE, BUFFERS), with the indexes:',
        ...idx.plan.split('\n').map((l) => `    ${l}`),
      ]);
    }
    const find = (prefix: string) => results.find((r) => r.q.name.startsWith(prefix))!;
    const pollNow = find('poll sweep: connectionsToPoll');
    const pollBefore = find('extra: before, poll sweep');
    const rescueSteady = find('cleanup: rescueStuck, find, steady state');
    const rescueFindBacklog = find('cleanup: rescueStuck, find (every sweep)');
    const rescueUpdate = find('cleanup: rescueStuck, UPDATE');
    const rescueBefore = find('extra: before, rescue as one UPDATE');
    const indexOnly = (plan: string) => /Index Only Scan/.test(plan) && !/Seq Scan on routings/.test(plan);
    // The server's own time (EXPLAIN ANALYZE), apart from the client round trip a loaded machine inflates.
    const serverMs = (plan: string) => Number(/Execution Time: ([\d.]+) ms/.exec(plan)?.[1] ?? NaN);
    header('sweeps summary', [
      `ratio: poll sweep before ÷ now = ${fmt(pollBefore.idx.median / pollNow.idx.median, 1)}× ` +
        `(${fmt(pollBefore.idx.median, 2)} → ${fmt(pollNow.idx.median, 2)} ms); rescue sweep, steady state, before ÷ now = ` +
        `${fmt(rescueBefore.idx.median / rescueSteady.idx.median, 1)}× (one UPDATE over the ${rescueUpdate.idx.rows}-routing backlog ` +
        `${fmt(rescueBefore.idx.median, 2)} ms → find ${fmt(rescueSteady.idx.median, 2)} ms); ` +
        `the backlog itself: find ${fmt(rescueFindBacklog.idx.median, 2)} ms + UPDATE ${fmt(rescueUpdate.idx.median, 2)} ms`,
      `${'query'.padEnd(66)} ${'indexed ms'.padStart(10)} ${'server ms'.padStart(9)} ${'no-index ms'.padStart(11)} ${'ratio'.padStart(8)}  seq scan?`,
      ...results.map(
        ({ q, idx, seq }) =>
          `${q.name.padEnd(66)} ${fmt(idx.median, 2).padStart(10)} ${fmt(serverMs(idx.plan), 3).padStart(9)} ${baselineMs(seq.median).padStart(11)} ${baselineRatio(seq.median, idx.median).padStart(8)}  ${seqScan(idx.plan).join(', ') || 'no'}`,
      ),
      machineLine(),
    ]);
    reportResult({
      measure: 'sweep: companies to poll at 1M routings',
      now:
        `${fmt(pollNow.idx.median, 2)} ms${indexOnly(pollNow.idx.plan) ? ', index-only' : ''} ` +
        `(server ${fmt(serverMs(pollNow.idx.plan), 2)} ms; before: ${fmt(pollBefore.idx.median, 2)} ms, server ${fmt(serverMs(pollBefore.idx.plan), 2)} ms)`,
      target: '< 2 ms',
      met: pollNow.idx.median < 2,
    });
    reportResult({
      measure: 'sweep: rescue stuck at 1M routings',
      now:
        `${fmt(rescueSteady.idx.median, 2)} ms${indexOnly(rescueSteady.idx.plan) ? ', index-only' : ''} ` +
        `(server ${fmt(serverMs(rescueSteady.idx.plan), 3)} ms) ` +
        `(a backlog of ${rescueUpdate.idx.rows} stuck: ${fmt(rescueFindBacklog.idx.median + rescueUpdate.idx.median, 1)} ms)`,
      target: '< 2 ms',
      met: rescueSteady.idx.median < 2,
    });
  } finally {
    await h.stopAll();
  }
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
