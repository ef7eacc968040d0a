import { randomUUID } from 'node:crypto';

import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';

import {
  AnalyticsRollup,
  FACTS_UPDATE_RETURNING,
  FACTS_UPDATE_SET,
  FactsUpdateRow,
  countsInAnalytics,
} from '../analytics/analytics-rollup';
import type { Actor } from '../audit/actor';
import { changesBetween, recordAuditEvent } from '../audit/audit';
import { ConflictError, NotFoundError } from '../common/errors';
import type { ConnectionStatus } from '../connections/connection.entity';
import type { WriteStatement } from '../database/write-statement';
import type { Address, Homeowner } from '../jobs/job.entity';
import type {
  CreatedReferral,
  ProviderStatus,
  ProviderType,
  Referral,
  ReferralStatus,
} from '../providers/field-service-provider';
import type { FailureDecision } from '../sync/sync-decision';
import { ENABLED_ENDPOINTS_SQL, EndpointRow, WebhookOutbox } from '../webhooks/webhook-outbox';
import { refreshJobAggregates } from './job-aggregate';
import { RoutingEventType } from './routing-event.entity';
import { RoutingStatus } from './routing-status';
import { Routing } from './routing.entity';

export interface EventRow {
  type: RoutingEventType;
  outcome: string;
  httpStatus?: number | null;
  durationMs?: number | null;
  message?: string | null;
}

/** One routing's change inside a lifecycle transaction: what every transition records, in one place. */
export interface RoutingChange {
  routingId: string;
  jobId: string;
  from: RoutingStatus;
  to: RoutingStatus;
  /** Set when the normalized provider status changed too. */
  providerStatus?: { from: ProviderStatus | null; to: ProviderStatus };
  events: EventRow[];
}

/** What one sync attempt holds after claiming its routing: everything the provider call needs. */
export interface SyncClaim {
  routingId: string;
  jobId: string;
  companyId: string;
  attempts: number;
  claimToken: string;
  /** An earlier attempt may have sent the create (then timed out or died): look the record up first. */
  mayAlreadyExist: boolean;
  /** The connection this routing syncs through; null when its company has no active one. */
  connection: {
    id: string;
    companyId: string;
    providerType: ProviderType;
    status: ConnectionStatus;
    statusReason: string | null;
  } | null;
  referral: Referral;
}

export interface AttemptOutcome {
  httpStatus: number | null;
  durationMs: number;
  /** This attempt sent (or began to send) the request that creates the provider's record. */
  createSent: boolean;
}

export type SyncOutcome = 'not_claimed' | 'synced' | 'retry_scheduled' | 'permanently_failed' | 'claim_lost';

/** A synced routing as polling reads it. */
export interface PolledRouting {
  id: string;
  jobId: string;
  externalId: string;
  providerStatus: ProviderStatus | null;
  providerStatusRaw: string | null;
}

// The provider's normalized status decides the routing's own final status.
const FINAL_ROUTING_STATUS: Partial<Record<ProviderStatus, 'completed' | 'canceled'>> = {
  completed: 'completed',
  canceled: 'canceled',
};
// A job's status, revenue and completion only move when one of its routings enters or leaves these.
const JOB_AFFECTING: ReadonlySet<RoutingStatus> = new Set(['completed', 'canceled', 'permanently_failed']);

/** Stuck routings (rescueStuck), from the index alone. */
export const RESCUE_FIND_SQL = `SELECT id FROM routings
  WHERE status = 'syncing' AND status_changed_at < now() - $1 * interval '1 millisecond'`;
/** The rescue itself; the conditions are checked again, so an attempt that ended meanwhile keeps its outcome. */
export const RESCUE_UPDATE_SQL = `UPDATE routings SET status = 'failed', next_retry_at = now(), claim_token = NULL,
         last_error = 'sync attempt abandoned (worker stopped); will retry', status_changed_at = now(), updated_at = now()
   WHERE id = ANY($1::uuid[]) AND status = 'syncing' AND status_changed_at < now() - $2 * interval '1 millisecond'
  RETURNING id, job_id`;

interface PollUpdateRow {
  id: string;
  job_id: string;
  old_status: ProviderStatus | null;
  old_raw: string | null;
  status: RoutingStatus;
  raw: string;
  revenue_cents: string | null;
}

interface ClaimRow {
  id: string;
  job_id: string;
  company_id: string;
  attempts: number;
  may_already_exist: boolean;
  connection_id: string | null;
  provider_type: string | null;
  connection_status: ConnectionStatus | null;
  connection_status_reason: string | null;
  homeowner: Homeowner;
  address: Address;
  summary: string;
  trade: string | null;
  referrer_name: string | null;
}

/**
 * The routing state machine (SPEC section 3): every status transition, the events it writes and the job
 * aggregate it updates go through here. Sync, polling, cleanup, the retry endpoint and job creation call it;
 * nothing else writes `routings.status` or `routing_events`. A sync attempt's writes carry the claim token it
 * got, so two workers never work one routing and a late answer from a rescued attempt changes nothing.
 */
@Injectable()
export class RoutingLifecycle {
  private readonly logger = new Logger(RoutingLifecycle.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly analytics: AnalyticsRollup,
    private readonly outbox: WebhookOutbox,
  ) {}

  /**
   * Job creation: one pending routing per target, its `created` event and its analytics facts, as parts of the
   * statement that creates the job (`job` is inserted by the same statement). Returns the routings as that
   * statement writes them, but for `createdAt`/`updatedAt`: the statement's now(), which the caller sets once it ran.
   */
  createRoutings(
    statement: WriteStatement,
    job: { id: string; companyId: string; trade: string | null },
    targets: { companyId: string; providerType: ProviderType }[],
  ): Routing[] {
    if (!targets.length) return [];
    const routings = targets.map((t) =>
      Object.assign(new Routing(), {
        id: randomUUID(),
        jobId: job.id,
        companyId: t.companyId,
        connectionId: null,
        providerType: t.providerType,
        status: 'pending' as const,
        externalId: null,
        providerStatus: null,
        providerStatusRaw: null,
        attempts: 0,
        nextRetryAt: null,
        lastError: null,
        syncedAt: null,
        lastPolledAt: null,
        completedAt: null,
        revenueCents: null,
        currency: 'USD',
      }),
    );
    const ids = statement.param(
      routings.map((r) => r.id),
      'uuid[]',
    );
    const companies = statement.param(
      routings.map((r) => r.companyId),
      'uuid[]',
    );
    statement.add(
      'created_routings',
      `INSERT INTO routings (id, job_id, company_id, provider_type, status)
       SELECT v.id, ${statement.param(job.id, 'uuid')}, v.company_id, v.provider_type, 'pending'
         FROM unnest(${ids}, ${companies}, ${statement.param(
           routings.map((r) => r.providerType),
           'text[]',
         )}) AS v(id, company_id, provider_type)`,
    );
    statement.add(
      'created_routing_events',
      `INSERT INTO routing_events (routing_id, type, outcome, message)
       SELECT v.id, 'created', 'pending', 'routed to company ' || v.company_id
         FROM unnest(${ids}, ${companies}) AS v(id, company_id)`,
    );
    this.analytics.addCreated(statement, job, routings);
    return routings;
  }

  /**
   * Takes a routing for one sync attempt (pending, or failed and due → syncing) and loads what the attempt needs.
   * The first claim binds the routing to its company's active connection for good. `create_sent` is set before
   * the attempt runs, so a worker that dies mid-attempt leaves it set; a failure that provably sent no create
   * puts it back. The value it had before (read under the row lock, so never from a stale snapshot) says whether
   * an earlier attempt may have created the provider's record: only then does the attempt look it up first.
   */
  async claim(routingId: string): Promise<SyncClaim | null> {
    const claimToken = randomUUID();
    const rows: ClaimRow[] = await this.db.query(
      `WITH claimed AS (
         UPDATE routings r
            SET status = 'syncing', attempts = r.attempts + 1, claim_token = $2, create_sent = true,
                connection_id = COALESCE(r.connection_id,
                  (SELECT c.id FROM connections c WHERE c.company_id = r.company_id AND c.status = 'active')),
                status_changed_at = now(), updated_at = now()
           FROM (SELECT id, create_sent FROM routings
                  WHERE id = $1 AND (status = 'pending' OR (status = 'failed' AND next_retry_at <= now()))
                    FOR UPDATE) before
          WHERE r.id = before.id
         RETURNING r.id, r.job_id, r.company_id, r.attempts, r.connection_id, before.create_sent AS may_already_exist
       )
       SELECT cl.*, c.provider_type, c.status AS connection_status, c.status_reason AS connection_status_reason,
              j.homeowner, j.address, j.summary, j.trade, referrer.name AS referrer_name
         FROM claimed cl
         JOIN jobs j ON j.id = cl.job_id
         LEFT JOIN companies referrer ON referrer.id = j.company_id
         LEFT JOIN connections c ON c.id = cl.connection_id`,
      [routingId, claimToken],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      routingId: row.id,
      jobId: row.job_id,
      companyId: row.company_id,
      attempts: row.attempts,
      claimToken,
      mayAlreadyExist: row.may_already_exist,
      connection:
        row.connection_id && row.provider_type && row.connection_status
          ? {
              id: row.connection_id,
              companyId: row.company_id,
              providerType: row.provider_type,
              status: row.connection_status,
              statusReason: row.connection_status_reason,
            }
          : null,
      referral: {
        routingId: row.id,
        jobId: row.job_id,
        referringCompanyName: row.referrer_name ?? 'a TradeEngage partner',
        homeowner: row.homeowner,
        address: row.address,
        summary: row.summary,
        trade: row.trade,
      },
    };
  }

  /**
   * The success of an attempt. What `moveClaimed` + `commit` would do, with the routing row, its events, its
   * analytics facts and the read of the webhook endpoints in one statement: then the rollups, and the outbox only
   * where an endpoint takes the event. A synced routing changes no job aggregate (neither side is job-affecting).
   */
  async recordSynced(claim: SyncClaim, created: CreatedReferral, attempt: AttemptOutcome): Promise<SyncOutcome> {
    const change: RoutingChange = {
      routingId: claim.routingId,
      jobId: claim.jobId,
      from: 'syncing',
      to: 'synced',
      providerStatus: { from: null, to: 'received' },
      events: [
        {
          type: 'sync_attempt',
          outcome: 'success',
          httpStatus: attempt.httpStatus,
          durationMs: attempt.durationMs,
          message: created.created
            ? `created ${created.externalId}`
            : `found existing ${created.externalId} from an earlier attempt`,
        },
        { type: 'status_change', outcome: 'synced', message: 'syncing → synced' },
      ],
    };
    const { events } = change;
    return this.db.transaction(async (m) => {
      const [row] = (await m.query(
        `WITH moved AS (
           UPDATE routings
              SET status = 'synced', external_id = $3, provider_type = $4, provider_status = 'received',
                  synced_at = now(), next_retry_at = NULL, last_error = NULL, claim_token = NULL,
                  status_changed_at = now(), updated_at = now()
            WHERE id = $1 AND status = 'syncing' AND claim_token = $2
           RETURNING *
         ), logged AS (
           INSERT INTO routing_events (routing_id, type, outcome, http_status, duration_ms, message)
           SELECT moved.id, e.type, e.outcome, e.http_status, e.duration_ms, e.message
             FROM moved, unnest($5::text[], $6::text[], $7::int[], $8::int[], $9::text[]) WITH ORDINALITY
                           AS e(type, outcome, http_status, duration_ms, message, n)
            ORDER BY e.n
         ), facts AS (
           UPDATE analytics_routings f SET ${FACTS_UPDATE_SET}
             FROM moved r, analytics_routings old
            WHERE f.routing_id = r.id AND old.routing_id = f.routing_id
           RETURNING ${FACTS_UPDATE_RETURNING}
         )
         SELECT (SELECT count(*) FROM moved)::int AS moved_count,
                (SELECT coalesce(json_agg(e), '[]') FROM (${ENABLED_ENDPOINTS_SQL}) e) AS enabled_endpoints,
                facts.*
           FROM (SELECT 1) one LEFT JOIN facts ON true`,
        [
          claim.routingId,
          claim.claimToken,
          created.externalId,
          claim.connection!.providerType,
          events.map((e) => e.type),
          events.map((e) => e.outcome),
          events.map((e) => e.httpStatus ?? null),
          events.map((e) => e.durationMs ?? null),
          events.map((e) => e.message ?? null),
        ],
      )) as (FactsUpdateRow & { moved_count: number; enabled_endpoints: EndpointRow[] })[];
      if (!row.moved_count) return this.claimLost(claim);
      if (row.routing_id && countsInAnalytics(change)) await this.analytics.recordFactsUpdate(m, [row], [change]);
      await this.outbox.record(m, [change], [], row.enabled_endpoints);
      return 'synced';
    });
  }

  /** A failed attempt: `failed` with its retry time, or `permanently_failed` (SPEC section 1.4). */
  async recordSyncFailure(
    claim: SyncClaim,
    decision: FailureDecision,
    attempt: AttemptOutcome & { kind: 'retryable_error' | 'permanent_error' | 'deferred' },
  ): Promise<SyncOutcome> {
    const attemptEvent: EventRow = {
      type: 'sync_attempt',
      outcome: attempt.kind,
      httpStatus: attempt.httpStatus,
      durationMs: attempt.durationMs,
      message: decision.lastError,
    };
    // The claim set create_sent; an attempt that sent no create leaves it as the claim found it.
    const createSent = claim.mayAlreadyExist || attempt.createSent;
    return this.db.transaction(async (m) => {
      if (decision.status === 'failed') {
        const moved = await this.moveClaimed(
          m,
          claim,
          `status = 'failed', next_retry_at = $3, last_error = $4, attempts = attempts - $5, create_sent = $6`,
          [decision.nextRetryAt, decision.lastError, decision.countsAsAttempt ? 0 : 1, createSent],
        );
        if (!moved) return this.claimLost(claim);
        await this.commit(m, [
          {
            routingId: claim.routingId,
            jobId: claim.jobId,
            from: 'syncing',
            to: 'failed',
            events: [
              attemptEvent,
              {
                type: 'retry_scheduled',
                outcome: 'failed',
                message: `next attempt at ${decision.nextRetryAt.toISOString()}`,
              },
            ],
          },
        ]);
        return 'retry_scheduled';
      }
      const moved = await this.moveClaimed(
        m,
        claim,
        `status = 'permanently_failed', next_retry_at = NULL, last_error = $3, create_sent = $4`,
        [decision.lastError, createSent],
      );
      if (!moved) return this.claimLost(claim);
      await this.commit(m, [
        {
          routingId: claim.routingId,
          jobId: claim.jobId,
          from: 'syncing',
          to: 'permanently_failed',
          events: [attemptEvent, { type: 'status_change', outcome: 'permanently_failed', message: decision.lastError }],
        },
      ]);
      return 'permanently_failed';
    });
  }

  /**
   * One poll batch of one connection in one UPDATE … FROM (VALUES …): provider status, completion and revenue of
   * each routing the provider returned; routings it did not return only count as polled. Returns how many changed.
   */
  async recordPollResults(connectionId: string, batch: PolledRouting[], statuses: ReferralStatus[]): Promise<number> {
    if (!batch.length) return 0;
    const byRouting = new Map(statuses.map((s) => [s.routingId, s]));
    const params: unknown[] = [connectionId];
    const values = batch.map((routing) => {
      const s = byRouting.get(routing.id);
      const at = params.length;
      params.push(
        routing.id,
        s ? s.status : null,
        s ? s.rawStatus : null,
        s ? s.completedAt : null,
        s ? s.revenueCents : null,
        s ? (FINAL_ROUTING_STATUS[s.status] ?? null) : null,
      );
      return `($${at + 1}::uuid, ${s ? 'true' : 'false'}, $${at + 2}::text, $${at + 3}::text, $${at + 4}::timestamptz, $${at + 5}::bigint, $${at + 6}::text)`;
    });
    return this.db.transaction(async (m) => {
      const [updated] = (await m.query(
        `UPDATE routings r
            SET provider_status = CASE WHEN v.seen THEN v.status ELSE r.provider_status END,
                provider_status_raw = CASE WHEN v.seen THEN v.raw ELSE r.provider_status_raw END,
                completed_at = CASE WHEN v.seen THEN v.completed_at ELSE r.completed_at END,
                revenue_cents = CASE WHEN v.seen THEN v.revenue_cents ELSE r.revenue_cents END,
                last_polled_at = now(), status = COALESCE(v.final_status, r.status),
                status_changed_at = CASE WHEN v.final_status IS NOT NULL THEN now() ELSE r.status_changed_at END,
                updated_at = CASE WHEN v.seen THEN now() ELSE r.updated_at END
           FROM (VALUES ${values.join(', ')}) AS v(id, seen, status, raw, completed_at, revenue_cents, final_status),
                routings old
          WHERE r.id = v.id AND old.id = r.id AND r.status = 'synced' AND (r.connection_id = $1 OR NOT v.seen)
         RETURNING r.id, r.job_id, v.seen, old.provider_status AS old_status, old.provider_status_raw AS old_raw,
                   r.status, r.provider_status_raw AS raw, r.revenue_cents`,
        params,
      )) as [(PollUpdateRow & { seen: boolean })[], number];
      const rows = updated.filter((row) => row.seen);
      const changes: RoutingChange[] = rows
        .filter((row) => row.old_status !== byRouting.get(row.id)!.status || row.old_raw !== row.raw)
        .map((row) => {
          const events: EventRow[] = [
            {
              type: 'poll',
              outcome: byRouting.get(row.id)!.status,
              message: `provider status ${row.old_raw ?? 'none'} → ${row.raw}`,
            },
          ];
          if (row.status !== 'synced') {
            const revenue = row.revenue_cents === null ? '' : ` (revenue ${row.revenue_cents} cents)`;
            events.push({ type: 'status_change', outcome: row.status, message: `synced → ${row.status}${revenue}` });
          }
          return {
            routingId: row.id,
            jobId: row.job_id,
            from: 'synced' as const,
            to: row.status,
            providerStatus: { from: row.old_status, to: byRouting.get(row.id)!.status },
            events,
          };
        });
      await this.commit(m, changes);
      return changes.length;
    });
  }

  /**
   * Routings left in `syncing` by a worker that died go back to `failed`, due now, so they are retried. Finding them
   * is one index-only scan of routings_syncing_stale_idx; only when there are some does a transaction start.
   */
  async rescueStuck(staleAfterMs: number): Promise<number> {
    const stuck: { id: string }[] = await this.db.query(RESCUE_FIND_SQL, [staleAfterMs]);
    if (!stuck.length) return 0;
    return this.db.transaction(async (m) => {
      const [rows] = (await m.query(RESCUE_UPDATE_SQL, [stuck.map((r) => r.id), staleAfterMs])) as [
        { id: string; job_id: string }[],
        number,
      ];
      await this.commit(
        m,
        rows.map((r) => ({
          routingId: r.id,
          jobId: r.job_id,
          from: 'syncing' as const,
          to: 'failed' as const,
          events: [
            {
              type: 'rescued' as const,
              outcome: 'failed',
              message: 'stuck in syncing; returned to failed for a retry',
            },
          ],
        })),
      );
      return rows.length;
    });
  }

  /**
   * Admin retry: a failed routing goes back to pending with a fresh attempt budget. A routing whose connection
   * can no longer serve it (invalid, or disabled before any create was sent) is released from it, so the next
   * attempt binds to the company's current connection; `create_sent` keeps the lookup-before-create on where an
   * earlier create may have reached a provider. Recorded in the audit trail as `actor`'s.
   */
  async retry(routingId: string, actor: Actor): Promise<Routing> {
    return this.db.transaction(async (m) => {
      const [rows] = (await m.query(
        `UPDATE routings r
            SET status = 'pending', attempts = 0, next_retry_at = NULL, status_changed_at = now(), updated_at = now(),
                connection_id = CASE WHEN c.status = 'invalid' OR (c.status = 'disabled' AND NOT r.create_sent)
                                     THEN NULL ELSE r.connection_id END
           FROM routings old LEFT JOIN connections c ON c.id = old.connection_id
          WHERE r.id = $1 AND old.id = r.id AND r.status IN ('failed', 'permanently_failed')
         RETURNING r.id, r.job_id, old.status AS previous, old.attempts AS previous_attempts,
                   old.connection_id AS previous_connection_id, r.connection_id`,
        [routingId],
      )) as [
        {
          id: string;
          job_id: string;
          previous: RoutingStatus;
          previous_attempts: number;
          previous_connection_id: string | null;
          connection_id: string | null;
        }[],
        number,
      ];
      if (!rows.length) {
        const current = await m.findOneBy(Routing, { id: routingId });
        if (!current) throw new NotFoundError('Routing', routingId);
        throw new ConflictError(
          `Only failed or permanently_failed routings can be retried; this one is ${current.status}`,
        );
      }
      await this.commit(m, [
        {
          routingId,
          jobId: rows[0].job_id,
          from: rows[0].previous,
          to: 'pending',
          events: [{ type: 'manual_retry', outcome: 'pending', message: 'retried by an admin' }],
        },
      ]);
      const [row] = rows;
      await recordAuditEvent(m, {
        actor,
        action: 'routing.retried',
        resourceType: 'routing',
        resourceId: routingId,
        changes: changesBetween(
          { status: row.previous, attempts: row.previous_attempts, connectionId: row.previous_connection_id },
          { status: 'pending', attempts: 0, connectionId: row.connection_id },
        ),
      });
      return m.findOneByOrFail(Routing, { id: routingId });
    });
  }

  /**
   * A connection became invalid: every routing it still serves ends `permanently_failed` with the reason. A routing
   * being synced right now keeps its claim; its attempt fails on the same reason when it ends.
   */
  async failConnectionRoutings(m: EntityManager, connectionId: string, reason: string): Promise<number> {
    const [rows] = (await m.query(
      `UPDATE routings r
          SET status = 'permanently_failed', next_retry_at = NULL, last_error = $2, status_changed_at = now(),
              updated_at = now()
         FROM routings old
        WHERE r.connection_id = $1 AND old.id = r.id AND r.status IN ('pending', 'failed', 'synced')
       RETURNING r.id, r.job_id, old.status AS previous`,
      [connectionId, reason],
    )) as [{ id: string; job_id: string; previous: RoutingStatus }[], number];
    await this.commit(
      m,
      rows.map((r) => ({
        routingId: r.id,
        jobId: r.job_id,
        from: r.previous,
        to: 'permanently_failed' as const,
        events: [{ type: 'status_change' as const, outcome: 'permanently_failed', message: reason }],
      })),
    );
    return rows.length;
  }

  /** Updates the claimed routing if the claim still holds; false when cleanup reclaimed it meanwhile. */
  private async moveClaimed(m: EntityManager, claim: SyncClaim, set: string, params: unknown[]): Promise<boolean> {
    const [, affected] = (await m.query(
      `UPDATE routings SET ${set}, claim_token = NULL, status_changed_at = now(), updated_at = now()
        WHERE id = $1 AND status = 'syncing' AND claim_token = $2`,
      [claim.routingId, claim.claimToken, ...params],
    )) as [unknown, number];
    return affected > 0;
  }

  /**
   * Everything a set of routing changes records besides the routing rows themselves, in the same transaction:
   * their events, the aggregates of their jobs, the analytics rollups and the outbound webhook events they cause (the
   * outbox). Whatever else must follow a change follows it here.
   */
  private async commit(m: EntityManager, changes: RoutingChange[]): Promise<void> {
    if (!changes.length) return;
    await this.insertEvents(
      m,
      changes.flatMap((c) => c.events.map((e) => ({ routingId: c.routingId, ...e }))),
    );
    const jobIds = changes.filter((c) => JOB_AFFECTING.has(c.to) || JOB_AFFECTING.has(c.from)).map((c) => c.jobId);
    const jobChanges = await refreshJobAggregates(m, jobIds);
    await this.analytics.recordChanges(m, changes);
    await this.outbox.record(m, changes, jobChanges);
  }

  private async insertEvents(m: EntityManager, events: (EventRow & { routingId: string })[]): Promise<void> {
    if (!events.length) return;
    await m.query(
      `INSERT INTO routing_events (routing_id, type, outcome, http_status, duration_ms, message)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::int[], $6::text[])`,
      [
        events.map((e) => e.routingId),
        events.map((e) => e.type),
        events.map((e) => e.outcome),
        events.map((e) => e.httpStatus ?? null),
        events.map((e) => e.durationMs ?? null),
        events.map((e) => e.message ?? null),
      ],
    );
  }

  private claimLost(claim: SyncClaim): 'claim_lost' {
    // Cleanup rescued this routing from a presumed-dead attempt; this late result is dropped.
    this.logger.warn({ routingId: claim.routingId }, 'Sync result dropped: the routing was reclaimed meanwhile');
    return 'claim_lost';
  }
}
