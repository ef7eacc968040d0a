import { Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter } from 'prom-client';
import { EntityManager } from 'typeorm';

import type { WriteStatement } from '../database/write-statement';
import { METRIC } from '../metrics/metrics';
import { encodeHistogram } from './duration-histogram';
import type { ProviderStatus } from '../providers/field-service-provider';
import type { RoutingStatus } from '../routing/routing-status';

/** What the rollup needs of a routing change (a subset of the lifecycle's RoutingChange). */
export interface AnalyticsChange {
  routingId: string;
  from: RoutingStatus;
  to: RoutingStatus;
  providerStatus?: { from: ProviderStatus | null; to: ProviderStatus };
}

type Dim = 'all' | 'provider' | 'trade' | 'referrer' | 'partner';
type Grain = 'day' | 'month';

// The rollup rows a routing counts in: by day and month for the whole network, by provider and by trade; by month
// for its referrer and its partner (by day, those would be nearly one row per routing).
const ROLLUPS: [Dim, Grain][] = [
  ['all', 'day'],
  ['provider', 'day'],
  ['trade', 'day'],
  ['all', 'month'],
  ['provider', 'month'],
  ['trade', 'month'],
  ['referrer', 'month'],
  ['partner', 'month'],
];
const COUNTERS = [
  'created',
  'synced',
  'scheduled',
  'in_progress',
  'completed',
  'canceled',
  'permanently_failed',
  'revenue_cents',
] as const;

// A change moves analytics only if it touches a provider status, a final status, the first sync, or a retry.
const COUNTED: ReadonlySet<RoutingStatus> = new Set([
  'pending',
  'synced',
  'completed',
  'canceled',
  'permanently_failed',
]);
const FINAL: ReadonlySet<RoutingStatus> = new Set(['completed', 'canceled', 'permanently_failed']);

/** One routing's facts as `analytics_routings` holds them (the columns statement 1 returns, per side). */
interface Facts {
  created_at: Date;
  referrer_id: string;
  partner_id: string;
  trade: string;
  provider: string;
  synced: boolean;
  scheduled: boolean;
  in_progress: boolean;
  outcome: 'completed' | 'canceled' | 'permanently_failed' | null;
  revenue_cents: string | null;
  synced_bucket: number | null;
  completed_bucket: number | null;
}

interface Delta {
  dim: Dim;
  grain: Grain;
  period: string;
  key: string;
  counts: number[];
  syncedHist: Map<number, number>;
  completedHist: Map<number, number>;
}

const FACT_COLUMNS = `created_at, referrer_id, partner_id, trade, provider, synced_at IS NOT NULL AS synced,
  reached_scheduled AS scheduled, reached_in_progress AS in_progress, outcome, revenue_cents, synced_bucket,
  completed_bucket`;

/**
 * Keeps the analytics facts and rollups (SPEC section 13) in step with the routing lifecycle, inside the lifecycle's
 * own transaction: a change and what it counts commit together or not at all. Each routing's facts record what it
 * ever reached (first sync, provider scheduled / in progress) once, and its final status as it is now, so a manual
 * retry out of `permanently_failed` takes that count back. The rollups get the difference between the facts before
 * and after, so they stay exact whatever order changes come in.
 */
@Injectable()
export class AnalyticsRollup {
  constructor(
    @InjectMetric(METRIC.routingTransitions) private readonly transitions: Counter,
    @InjectMetric(METRIC.routingProviderStatus) private readonly providerStatuses: Counter,
  ) {}

  /**
   * New routings as part of their job's creating statement (WriteStatement): their facts, and the rollups counted
   * as created. The routings are in the same statement, so their facts come
   * from the caller; their creation time is the statement's now(), as the routing rows' `created_at`.
   */
  addCreated(
    statement: WriteStatement,
    job: { id: string; companyId: string; trade: string | null },
    routings: { id: string; companyId: string; providerType: string }[],
  ): void {
    if (!routings.length) return;
    const trade = job.trade ?? 'none';
    statement.add(
      'analytics_facts',
      `INSERT INTO analytics_routings (routing_id, job_id, created_at, referrer_id, partner_id, provider, trade)
       SELECT v.id, ${statement.param(job.id, 'uuid')}, now(), ${statement.param(job.companyId, 'uuid')}, v.partner,
              v.provider, ${statement.param(trade, 'text')}
         FROM unnest(${statement.param(
           routings.map((r) => r.id),
           'uuid[]',
         )}, ${statement.param(
           routings.map((r) => r.companyId),
           'uuid[]',
         )}, ${statement.param(
           routings.map((r) => r.providerType),
           'text[]',
         )}) AS v(id, partner, provider)`,
    );
    // The same rows as contribute(): created counts 1 in each rollup, by the UTC day of created_at.
    const counts = new Map<string, { dim: Dim; grain: Grain; key: string; n: number }>();
    for (const r of routings) {
      this.transitions.inc({ provider: r.providerType, to: 'created' });
      for (const [dim, grain] of ROLLUPS) {
        const key = { all: '', provider: r.providerType, trade, referrer: job.companyId, partner: r.companyId }[dim];
        const id = `${dim}|${grain}|${key}`;
        const row = counts.get(id) ?? { dim, grain, key, n: 0 };
        row.n += 1;
        counts.set(id, row);
      }
    }
    const rows = [...counts.values()];
    statement.add(
      'analytics_created',
      `INSERT INTO analytics_rollups AS t (dim, grain, period, key, created)
       SELECT v.dim, v.grain, CASE WHEN v.grain = 'day' THEN d.day ELSE date_trunc('month', d.day)::date END, v.key, v.n
         FROM unnest(${statement.param(
           rows.map((r) => r.dim),
           'text[]',
         )}, ${statement.param(
           rows.map((r) => r.grain),
           'text[]',
         )}, ${statement.param(
           rows.map((r) => r.key),
           'text[]',
         )}, ${statement.param(
           rows.map((r) => r.n),
           'int[]',
         )}) AS v(dim, grain, key, n),
              (SELECT (now()::timestamptz(3) AT TIME ZONE 'UTC')::date AS day) d
        ORDER BY 1, 2, 3, 4
       ON CONFLICT (dim, grain, period, key) DO UPDATE SET created = t.created + excluded.created`,
    );
  }

  /** Routing changes of one lifecycle transaction, after the routing rows were updated. */
  async recordChanges(m: EntityManager, changes: AnalyticsChange[]): Promise<void> {
    const counted = changes.filter(countsInAnalytics);
    if (!counted.length) return;
    const [rows] = (await m.query(
      `UPDATE analytics_routings f SET ${FACTS_UPDATE_SET}
         FROM routings r, analytics_routings old
        WHERE f.routing_id = ANY($1::uuid[]) AND r.id = f.routing_id AND old.routing_id = f.routing_id
       RETURNING ${FACTS_UPDATE_RETURNING}`,
      [counted.map((c) => c.routingId)],
    )) as [FactsUpdateRow[], number];
    await this.recordFactsUpdate(m, rows, counted);
  }

  /**
   * The rest of `recordChanges` for a caller that ran the facts UPDATE itself, inside a statement of its own
   * (`UPDATE analytics_routings f SET ${FACTS_UPDATE_SET} FROM <routings as r>, analytics_routings old
   * WHERE … r.id = f.routing_id AND old.routing_id = f.routing_id RETURNING ${FACTS_UPDATE_RETURNING}`), only for
   * changes that count (`countsInAnalytics`): the rollups move by the difference, and the metrics count.
   */
  async recordFactsUpdate(m: EntityManager, rows: FactsUpdateRow[], counted: AnalyticsChange[]): Promise<void> {
    const byRouting = new Map(counted.map((c) => [c.routingId, c]));
    const deltas = new Map<string, Delta>();
    for (const row of rows) {
      const before = Object.fromEntries(
        Object.entries(row)
          .filter(([k]) => k.startsWith('old_'))
          .map(([k, v]) => [k.slice(4), v]),
      ) as unknown as Facts;
      contribute(deltas, before, -1);
      contribute(deltas, row, 1);
      const change = byRouting.get(row.routing_id)!;
      if (change.from !== change.to && COUNTED.has(change.to))
        this.transitions.inc({ provider: row.provider, to: change.to });
      if (change.providerStatus)
        this.providerStatuses.inc({ provider: row.provider, status: change.providerStatus.to });
    }
    await applyDeltas(m, deltas);
  }
}

/** A change moves analytics only if it touches a provider status, a final status, the first sync, or a retry. */
export function countsInAnalytics(c: AnalyticsChange): boolean {
  return !!c.providerStatus || COUNTED.has(c.to) || FINAL.has(c.from);
}

/** The facts UPDATE's SET list: `f` is analytics_routings, `r` the routing row after its change. */
export const FACTS_UPDATE_SET = `provider = r.provider_type,
  synced_at = COALESCE(f.synced_at, r.synced_at),
  reached_scheduled = f.reached_scheduled
    OR COALESCE(r.provider_status IN ('scheduled', 'in_progress', 'completed'), false),
  reached_in_progress = f.reached_in_progress
    OR COALESCE(r.provider_status IN ('in_progress', 'completed'), false),
  outcome = CASE WHEN r.status IN ('completed', 'canceled', 'permanently_failed') THEN r.status END,
  revenue_cents = CASE WHEN r.status = 'completed' THEN r.revenue_cents END,
  completed_at = CASE WHEN r.status = 'completed' THEN COALESCE(f.completed_at, r.completed_at, now()) END`;

/** The facts UPDATE's RETURNING list: the facts after (`f`) and before (`old`, the same row as it was). */
export const FACTS_UPDATE_RETURNING = `f.routing_id, ${prefixed('f', '')}, ${prefixed('old', 'old_')}`;

export type FactsUpdateRow = { routing_id: string } & Facts & { [K in keyof Facts as `old_${K}`]: Facts[K] };

function prefixed(table: string, prefix: string): string {
  return FACT_COLUMNS.split(',')
    .map((c) => c.trim())
    .map((c) => {
      const [expr, alias] = c.split(/\s+AS\s+/i);
      return `${table}.${expr} AS ${prefix}${alias ?? expr}`;
    })
    .join(', ');
}

function contribute(deltas: Map<string, Delta>, f: Facts, sign: 1 | -1): void {
  const day = f.created_at.toISOString().slice(0, 10);
  const values = [
    1,
    f.synced ? 1 : 0,
    f.scheduled ? 1 : 0,
    f.in_progress ? 1 : 0,
    f.outcome === 'completed' ? 1 : 0,
    f.outcome === 'canceled' ? 1 : 0,
    f.outcome === 'permanently_failed' ? 1 : 0,
    f.outcome === 'completed' ? Number(f.revenue_cents ?? 0) : 0,
  ];
  const completedBucket = f.outcome === 'completed' ? f.completed_bucket : null;
  for (const [dim, grain] of ROLLUPS) {
    const period = grain === 'day' ? day : `${day.slice(0, 7)}-01`;
    const key = { all: '', provider: f.provider, trade: f.trade, referrer: f.referrer_id, partner: f.partner_id }[dim];
    const id = `${dim}|${grain}|${period}|${key}`;
    let delta = deltas.get(id);
    if (!delta) {
      delta = {
        dim,
        grain,
        period,
        key,
        counts: COUNTERS.map(() => 0),
        syncedHist: new Map(),
        completedHist: new Map(),
      };
      deltas.set(id, delta);
    }
    values.forEach((v, i) => (delta.counts[i] += sign * v));
    if (f.synced_bucket !== null) add(delta.syncedHist, f.synced_bucket, sign);
    if (completedBucket !== null) add(delta.completedHist, completedBucket, sign);
  }
}

function add(hist: Map<number, number>, bucket: number, n: number): void {
  const next = (hist.get(bucket) ?? 0) + n;
  if (next === 0) hist.delete(bucket);
  else hist.set(bucket, next);
}

/**
 * One upsert for every rollup row the changes moved. Rows are written in primary-key order (the ORDER BY), so
 * transactions that move the same rows lock them in the same order and never deadlock on them.
 */
async function applyDeltas(m: EntityManager, deltas: Map<string, Delta>): Promise<void> {
  const rows = [...deltas.values()].filter(
    (d) => d.counts.some((n) => n !== 0) || d.syncedHist.size || d.completedHist.size,
  );
  if (!rows.length) return;
  const column = (i: number) => rows.map((r) => r.counts[i]);
  await m.query(
    `INSERT INTO analytics_rollups AS t (dim, grain, period, key, ${COUNTERS.join(', ')}, synced_hist, completed_hist)
     SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::text[], $5::int[], $6::int[], $7::int[], $8::int[],
                          $9::int[], $10::int[], $11::int[], $12::bigint[], $13::bytea[], $14::bytea[])
      ORDER BY 1, 2, 3, 4
     ON CONFLICT (dim, grain, period, key) DO UPDATE SET
       ${COUNTERS.map((c) => `${c} = t.${c} + excluded.${c}`).join(', ')},
       synced_hist = CASE WHEN excluded.synced_hist = '' THEN t.synced_hist
                          ELSE analytics_hist_add(t.synced_hist, excluded.synced_hist) END,
       completed_hist = CASE WHEN excluded.completed_hist = '' THEN t.completed_hist
                             ELSE analytics_hist_add(t.completed_hist, excluded.completed_hist) END`,
    [
      rows.map((r) => r.dim),
      rows.map((r) => r.grain),
      rows.map((r) => r.period),
      rows.map((r) => r.key),
      ...COUNTERS.map((_, i) => column(i)),
      rows.map((r) => encodeHistogram(r.syncedHist)),
      rows.map((r) => encodeHistogram(r.completedHist)),
    ],
  );
}
