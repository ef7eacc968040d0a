import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Referral analytics (SPEC section 13). `analytics_routings` keeps one row of facts per routing: what it ever
 * reached and how it ended, with no foreign key, so cleanup's archiving leaves it alone. `analytics_rollups` sums
 * those facts by day and by month (all routings, by provider, by trade) and by month (by referrer, by partner).
 * The routing lifecycle keeps both in step with every change, in the change's own transaction.
 *
 * Durations (created → synced, synced → completed) are kept as histogram buckets, 16 per doubling of (1 + ms):
 * `analytics_bucket` is the only definition of a bucket, so facts, rollups and queries agree.
 *
 * Existing routings, live and archived, are backfilled: "ever reached" comes from their events (polls record the
 * provider status they read, status changes the move to synced).
 */
export class AnalyticsRollups1765500000000 implements MigrationInterface {
  name = 'AnalyticsRollups1765500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION analytics_bucket(ms double precision) RETURNS smallint
      LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
      AS $$ SELECT LEAST(floor(16 * ln(1 + GREATEST(ms, 0)) / ln(2)), 1023)::smallint $$`);
    // A histogram is a bytea of (bucket, count) pairs, each a big-endian int4, sorted by bucket, no zero counts:
    // compact to store, and a query concatenates a group's rows with string_agg, the cheapest aggregate there is.
    // Adds two histograms (b may carry negative counts: a routing leaving a bucket).
    await q.query(`
      CREATE FUNCTION analytics_hist_add(a bytea, b bytea) RETURNS bytea
      LANGUAGE sql IMMUTABLE PARALLEL SAFE
      AS $$
        SELECT COALESCE(string_agg(int4send(k) || int4send(n::int), ''::bytea ORDER BY k), ''::bytea)
          FROM (SELECT k, sum(n) AS n
                  FROM (SELECT ('x' || encode(substring(h FROM i * 8 + 1 FOR 4), 'hex'))::bit(32)::int AS k,
                               ('x' || encode(substring(h FROM i * 8 + 5 FOR 4), 'hex'))::bit(32)::int AS n
                          FROM (VALUES (a), (b)) v(h), generate_series(0, length(h) / 8 - 1) i) pairs
                 GROUP BY k HAVING sum(n) <> 0) merged $$`);
    await q.query(`
      CREATE TABLE analytics_routings (
        routing_id uuid PRIMARY KEY,
        job_id uuid NOT NULL,
        created_at timestamptz(3) NOT NULL,
        referrer_id uuid NOT NULL,
        partner_id uuid NOT NULL,
        provider text NOT NULL,
        trade text NOT NULL,
        synced_at timestamptz(3),
        reached_scheduled boolean NOT NULL DEFAULT false,
        reached_in_progress boolean NOT NULL DEFAULT false,
        outcome text CHECK (outcome IN ('completed', 'canceled', 'permanently_failed')),
        revenue_cents bigint,
        completed_at timestamptz(3),
        synced_bucket smallint GENERATED ALWAYS AS
          (analytics_bucket(extract(epoch FROM synced_at - created_at)::double precision * 1000)) STORED,
        completed_bucket smallint GENERATED ALWAYS AS
          (analytics_bucket(extract(epoch FROM completed_at - synced_at)::double precision * 1000)) STORED
      )`);
    await q.query(`CREATE INDEX analytics_routings_created_idx ON analytics_routings (created_at)`);
    await q.query(`CREATE INDEX analytics_routings_referrer_idx ON analytics_routings (referrer_id, created_at)`);
    await q.query(`CREATE INDEX analytics_routings_partner_idx ON analytics_routings (partner_id, created_at)`);

    await q.query(`
      CREATE TABLE analytics_rollups (
        dim text NOT NULL CHECK (dim IN ('all', 'provider', 'trade', 'referrer', 'partner')),
        grain text NOT NULL CHECK (grain IN ('day', 'month')),
        period date NOT NULL,
        key text COLLATE "C" NOT NULL, -- ids, providers, trades: compared byte-wise, so grouping 10,000 keys stays cheap
        created integer NOT NULL DEFAULT 0,
        synced integer NOT NULL DEFAULT 0,
        scheduled integer NOT NULL DEFAULT 0,
        in_progress integer NOT NULL DEFAULT 0,
        completed integer NOT NULL DEFAULT 0,
        canceled integer NOT NULL DEFAULT 0,
        permanently_failed integer NOT NULL DEFAULT 0,
        revenue_cents bigint NOT NULL DEFAULT 0,
        synced_hist bytea NOT NULL DEFAULT '',
        completed_hist bytea NOT NULL DEFAULT '',
        PRIMARY KEY (dim, grain, period, key)
      )`);

    // The referrer report reads a company's jobs by creation time, archived ones included.
    await q.query(`CREATE INDEX archived_jobs_company_created_idx ON archived_jobs (company_id, created_at)`);

    await this.backfill(q);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS archived_jobs_company_created_idx`);
    await q.query(`DROP TABLE IF EXISTS analytics_rollups`);
    await q.query(`DROP TABLE IF EXISTS analytics_routings`);
    await q.query(`DROP FUNCTION IF EXISTS analytics_hist_add(bytea, bytea)`);
    await q.query(`DROP FUNCTION IF EXISTS analytics_bucket(double precision)`);
  }

  private async backfill(q: QueryRunner): Promise<void> {
    await q.query(`
      INSERT INTO analytics_routings (routing_id, job_id, created_at, referrer_id, partner_id, provider, trade, synced_at,
                                      reached_scheduled, reached_in_progress, outcome, revenue_cents, completed_at)
      SELECT r.id, r.job_id, r.created_at, j.company_id, r.company_id, r.provider_type, COALESCE(j.trade, 'none'),
             CASE WHEN r.synced_at IS NOT NULL THEN LEAST(e.first_synced, r.synced_at) END,
             COALESCE(r.provider_status IN ('scheduled', 'in_progress', 'completed') OR e.scheduled, false),
             COALESCE(r.provider_status IN ('in_progress', 'completed') OR e.in_progress, false),
             CASE WHEN r.status IN ('completed', 'canceled', 'permanently_failed') THEN r.status END,
             CASE WHEN r.status = 'completed' THEN r.revenue_cents END,
             CASE WHEN r.status = 'completed' THEN COALESCE(r.completed_at, r.status_changed_at) END
        FROM (SELECT id, job_id, company_id, provider_type, status, provider_status, synced_at, completed_at,
                     revenue_cents, status_changed_at, created_at FROM routings
              UNION ALL
              SELECT id, job_id, company_id, provider_type, status, provider_status, synced_at, completed_at,
                     revenue_cents, status_changed_at, created_at FROM archived_routings) r
        JOIN (SELECT id, company_id, trade FROM jobs UNION ALL SELECT id, company_id, trade FROM archived_jobs) j
          ON j.id = r.job_id
        LEFT JOIN (
          SELECT routing_id,
                 min(at) FILTER (WHERE type = 'status_change' AND outcome = 'synced') AS first_synced,
                 bool_or(type = 'poll' AND outcome IN ('scheduled', 'in_progress', 'completed')) AS scheduled,
                 bool_or(type = 'poll' AND outcome IN ('in_progress', 'completed')) AS in_progress
            FROM (SELECT routing_id, at, type, outcome FROM routing_events
                  UNION ALL SELECT routing_id, at, type, outcome FROM archived_routing_events) ev
           WHERE type IN ('status_change', 'poll')
           GROUP BY routing_id) e ON e.routing_id = r.id
      ON CONFLICT (routing_id) DO NOTHING`);
    // In creation order, as the lifecycle writes them: a range of creation times is then a range of pages.
    await q.query(`CLUSTER analytics_routings USING analytics_routings_created_idx`);

    await q.query(`
      WITH keyed AS (
        SELECT g.dim, g.grain,
               CASE g.grain WHEN 'day' THEN (f.created_at AT TIME ZONE 'UTC')::date
                            ELSE date_trunc('month', f.created_at AT TIME ZONE 'UTC')::date END AS period,
               CASE g.dim WHEN 'all' THEN '' WHEN 'provider' THEN f.provider WHEN 'trade' THEN f.trade
                          WHEN 'referrer' THEN f.referrer_id::text ELSE f.partner_id::text END AS key,
               f.*
          FROM analytics_routings f
         CROSS JOIN (VALUES ('all', 'day'), ('provider', 'day'), ('trade', 'day'), ('all', 'month'),
                            ('provider', 'month'), ('trade', 'month'), ('referrer', 'month'), ('partner', 'month'))
               AS g(dim, grain)),
      counts AS (
        SELECT dim, grain, period, key, count(*) AS created, count(synced_at) AS synced,
               count(*) FILTER (WHERE reached_scheduled) AS scheduled,
               count(*) FILTER (WHERE reached_in_progress) AS in_progress,
               count(*) FILTER (WHERE outcome = 'completed') AS completed,
               count(*) FILTER (WHERE outcome = 'canceled') AS canceled,
               count(*) FILTER (WHERE outcome = 'permanently_failed') AS permanently_failed,
               COALESCE(sum(revenue_cents) FILTER (WHERE outcome = 'completed'), 0) AS revenue_cents
          FROM keyed GROUP BY dim, grain, period, key),
      synced_hist AS (
        SELECT dim, grain, period, key, string_agg(int4send(b) || int4send(n), ''::bytea ORDER BY b) AS h
          FROM (SELECT dim, grain, period, key, synced_bucket::int AS b, count(*)::int AS n FROM keyed
                 WHERE synced_bucket IS NOT NULL GROUP BY dim, grain, period, key, synced_bucket) x
         GROUP BY dim, grain, period, key),
      completed_hist AS (
        SELECT dim, grain, period, key, string_agg(int4send(b) || int4send(n), ''::bytea ORDER BY b) AS h
          FROM (SELECT dim, grain, period, key, completed_bucket::int AS b, count(*)::int AS n FROM keyed
                 WHERE completed_bucket IS NOT NULL AND outcome = 'completed'
                 GROUP BY dim, grain, period, key, completed_bucket) x
         GROUP BY dim, grain, period, key)
      INSERT INTO analytics_rollups (dim, grain, period, key, created, synced, scheduled, in_progress, completed,
                                     canceled, permanently_failed, revenue_cents, synced_hist, completed_hist)
      SELECT c.dim, c.grain, c.period, c.key, c.created, c.synced, c.scheduled, c.in_progress, c.completed,
             c.canceled, c.permanently_failed, c.revenue_cents, COALESCE(s.h, ''), COALESCE(h.h, '')
        FROM counts c
        LEFT JOIN synced_hist s USING (dim, grain, period, key)
        LEFT JOIN completed_hist h USING (dim, grain, period, key)`);
  }
}
