import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

import { Caller } from '../auth/caller';
import { ForbiddenError, NotFoundError, UnprocessableError } from '../common/errors';
import { FunnelQuery, GroupBy, RangeQuery } from './dto/analytics.query';
import { Funnel, FunnelGroup, FunnelResponse, ReferrerMonthsResponse } from './dto/analytics.response';
import { DurationHistogram } from './duration-histogram';
import { Segment, TimeRange, parseRange, planSegments } from './time-range';

const CURRENCY = 'USD';

/** Counts of one group, summed over the segments of a range. */
class Tally {
  created = 0;
  synced = 0;
  scheduled = 0;
  inProgress = 0;
  completed = 0;
  canceled = 0;
  permanentlyFailed = 0;
  revenueCents = 0;
  readonly toSynced = new DurationHistogram();
  readonly toCompleted = new DurationHistogram();

  add(row: TallyRow): void {
    this.created += row.created;
    this.synced += row.synced;
    this.scheduled += row.scheduled;
    this.inProgress += row.in_progress;
    this.completed += row.completed;
    this.canceled += row.canceled;
    this.permanentlyFailed += row.permanently_failed;
    this.revenueCents += Number(row.revenue_cents);
    this.toSynced.addEncoded(row.synced_hist);
    this.toCompleted.addEncoded(row.completed_hist);
  }

  merge(other: Tally): void {
    this.created += other.created;
    this.synced += other.synced;
    this.scheduled += other.scheduled;
    this.inProgress += other.inProgress;
    this.completed += other.completed;
    this.canceled += other.canceled;
    this.permanentlyFailed += other.permanentlyFailed;
    this.revenueCents += other.revenueCents;
    this.toSynced.merge(other.toSynced);
    this.toCompleted.merge(other.toCompleted);
  }

  funnel(): Funnel {
    return {
      created: this.created,
      synced: this.synced,
      scheduled: this.scheduled,
      inProgress: this.inProgress,
      completed: this.completed,
      canceled: this.canceled,
      permanentlyFailed: this.permanentlyFailed,
      conversionRate: this.synced ? this.completed / this.synced : null,
      revenueCents: this.revenueCents,
      currency: CURRENCY,
      medianCreatedToSyncedMs: this.toSynced.medianMs(),
      medianSyncedToCompletedMs: this.toCompleted.medianMs(),
    };
  }
}

interface TallyRow {
  key: string;
  created: number;
  synced: number;
  scheduled: number;
  in_progress: number;
  completed: number;
  canceled: number;
  permanently_failed: number;
  revenue_cents: string;
  /** Encoded histograms (encodeHistogram), concatenated over the group's rows. */
  synced_hist: Buffer | null;
  completed_hist: Buffer | null;
}

// How each grouping reads its key from the per-routing facts, and which rollup rows hold it.
const FACT_KEY: Record<GroupBy, string> = {
  referrer: 'referrer_id::text',
  partner: 'partner_id::text',
  provider: 'provider',
  trade: 'trade',
  day: `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
};
const ROLLUP_DIM: Record<GroupBy, string> = {
  referrer: 'referrer',
  partner: 'partner',
  provider: 'provider',
  trade: 'trade',
  day: 'all',
};
const GRAINS: Record<GroupBy, { day: boolean; month: boolean }> = {
  referrer: { day: false, month: true },
  partner: { day: false, month: true },
  provider: { day: true, month: true },
  trade: { day: true, month: true },
  day: { day: true, month: false },
};

const FACT_TALLY = `count(*)::int AS created, count(synced_at)::int AS synced,
  count(*) FILTER (WHERE reached_scheduled)::int AS scheduled,
  count(*) FILTER (WHERE reached_in_progress)::int AS in_progress,
  count(*) FILTER (WHERE outcome = 'completed')::int AS completed,
  count(*) FILTER (WHERE outcome = 'canceled')::int AS canceled,
  count(*) FILTER (WHERE outcome = 'permanently_failed')::int AS permanently_failed,
  COALESCE(sum(revenue_cents) FILTER (WHERE outcome = 'completed'), 0) AS revenue_cents,
  string_agg(int4send(synced_bucket::int) || int4send(1), ''::bytea) AS synced_hist,
  string_agg(int4send(completed_bucket::int) || int4send(1), ''::bytea) FILTER (WHERE outcome = 'completed')
    AS completed_hist`;
const ROLLUP_TALLY = `sum(created)::int AS created, sum(synced)::int AS synced, sum(scheduled)::int AS scheduled,
  sum(in_progress)::int AS in_progress, sum(completed)::int AS completed, sum(canceled)::int AS canceled,
  sum(permanently_failed)::int AS permanently_failed, sum(revenue_cents) AS revenue_cents,
  string_agg(synced_hist, ''::bytea) AS synced_hist, string_agg(completed_hist, ''::bytea) AS completed_hist`;

/**
 * The analytics reports (SPEC section 13). A network-wide funnel adds up rollup rows (whole months, whole days)
 * and the per-routing facts only for the part days or months at the edges of the range; a funnel narrowed to one
 * company reads that company's facts (its routings as referrer or partner, through two indexes).
 */
@Injectable()
export class AnalyticsService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async funnel(caller: Caller, query: FunnelQuery): Promise<FunnelResponse> {
    const range = parseRange(query.from, query.to);
    let companyId = query.companyId;
    if (caller.role === 'company') {
      if (companyId && companyId !== caller.companyId)
        throw new ForbiddenError('A company key sees only the funnel of its own company');
      companyId = caller.companyId!;
    } else if (companyId && !(await this.companyExists(companyId))) {
      throw new UnprocessableError('The company does not exist', [
        { field: 'companyId', message: 'company does not exist' },
      ]);
    }

    const rows = companyId
      ? await this.factRows(query.groupBy, range, companyId)
      : (
          await Promise.all(
            planSegments(range, GRAINS[query.groupBy]).map((s) =>
              s.source === 'facts' ? this.factRows(query.groupBy, s) : this.rollupRows(query.groupBy, s),
            ),
          )
        ).flat();

    const tallies = new Map<string, Tally>();
    for (const row of rows) {
      let tally = tallies.get(row.key);
      if (!tally) tallies.set(row.key, (tally = new Tally()));
      tally.add(row);
    }
    const totals = new Tally();
    for (const tally of tallies.values()) totals.merge(tally);
    const names =
      query.groupBy === 'referrer' || query.groupBy === 'partner' ? await this.companyNames([...tallies.keys()]) : null;

    const groups: FunnelGroup[] = [...tallies.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, tally]) => ({ key, ...(names ? { name: names.get(key) ?? null } : {}), ...tally.funnel() }));
    return {
      from: range.from.toISOString(),
      to: range.to.toISOString(),
      groupBy: query.groupBy,
      groups,
      totals: totals.funnel(),
    };
  }

  /** A referrer's credit by month of job creation: every job it created (routed or not), archived ones included. */
  async referrerMonths(caller: Caller, companyId: string, query: RangeQuery): Promise<ReferrerMonthsResponse> {
    const range = parseRange(query.from, query.to);
    if (caller.role === 'company' && caller.companyId !== companyId)
      throw new ForbiddenError('A company key sees only its own referrals');
    if (!(await this.companyExists(companyId))) throw new NotFoundError('Company', companyId);
    const rows: { month: string; referred: number; completed: number; revenue_cents: string }[] = await this.db.query(
      `SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM') AS month, count(*)::int AS referred,
              count(*) FILTER (WHERE status = 'completed')::int AS completed,
              COALESCE(sum(revenue_cents) FILTER (WHERE status = 'completed'), 0) AS revenue_cents
         FROM (SELECT created_at, status, revenue_cents FROM jobs
                WHERE company_id = $1 AND created_at >= $2 AND created_at < $3
               UNION ALL
               SELECT created_at, status, revenue_cents FROM archived_jobs
                WHERE company_id = $1 AND created_at >= $2 AND created_at < $3) j
        GROUP BY 1`,
      [companyId, range.from, range.to],
    );
    const byMonth = new Map(rows.map((r) => [r.month, r]));
    return {
      companyId,
      currency: CURRENCY,
      months: monthsOf(range).map((month) => ({
        month,
        jobsReferred: byMonth.get(month)?.referred ?? 0,
        jobsCompleted: byMonth.get(month)?.completed ?? 0,
        revenueCents: Number(byMonth.get(month)?.revenue_cents ?? 0),
      })),
    };
  }

  private factRows(groupBy: GroupBy, range: TimeRange, companyId?: string): Promise<TallyRow[]> {
    return this.db.query(
      `SELECT ${FACT_KEY[groupBy]} AS key, ${FACT_TALLY}
         FROM analytics_routings
        WHERE created_at >= $1 AND created_at < $2 ${companyId ? 'AND (referrer_id = $3 OR partner_id = $3)' : ''}
        GROUP BY 1`,
      companyId ? [range.from, range.to, companyId] : [range.from, range.to],
    );
  }

  private rollupRows(groupBy: GroupBy, segment: Segment): Promise<TallyRow[]> {
    const key = groupBy === 'day' ? `to_char(period, 'YYYY-MM-DD')` : 'key';
    return this.db.query(
      `SELECT ${key} AS key, ${ROLLUP_TALLY}
         FROM analytics_rollups
        WHERE dim = $1 AND grain = $2 AND period >= $3::date AND period < $4::date
        GROUP BY 1`,
      [ROLLUP_DIM[groupBy], segment.source, isoDay(segment.from), isoDay(segment.to)],
    );
  }

  private async companyExists(id: string): Promise<boolean> {
    return (await this.db.query(`SELECT 1 FROM companies WHERE id = $1`, [id])).length > 0;
  }

  private async companyNames(ids: string[]): Promise<Map<string, string>> {
    if (!ids.length) return new Map();
    const rows: { id: string; name: string }[] = await this.db.query(
      `SELECT id, name FROM companies WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    return new Map(rows.map((r) => [r.id, r.name]));
  }
}

const isoDay = (t: Date) => t.toISOString().slice(0, 10);

/** `YYYY-MM` of every month that overlaps [from, to). */
function monthsOf(range: TimeRange): string[] {
  const months: string[] = [];
  const at = new Date(range.from.getTime());
  at.setUTCDate(1);
  at.setUTCHours(0, 0, 0, 0);
  while (at < range.to) {
    months.push(at.toISOString().slice(0, 7));
    at.setUTCMonth(at.getUTCMonth() + 1);
  }
  return months;
}
