import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

import { AppConfig } from '../config/app-config';
import { CircuitOpenError, ConnectionUnusableError } from '../connections/connection-errors';
import { ConnectionRef, ConnectionsService } from '../connections/connections.service';
import { ChangedRecords, ProviderStatus, ReferralStatus } from '../providers/field-service-provider';
import { ProviderError } from '../providers/provider-error';
import { ProviderGateway } from '../providers/provider-gateway';
import { PolledRouting, RoutingLifecycle } from '../routing/routing-lifecycle';

// Our clock (the cursor's takenAt) against the database's (synced_at): a routing synced this close before the last
// run started is read by id once more.
const CURSOR_CLOCK_MARGIN_MS = 60_000;

export const CONNECTIONS_TO_POLL_SQL = `SELECT c.id AS connection_id FROM connections c
  CROSS JOIN LATERAL (SELECT r.last_polled_at FROM routings r
                       WHERE r.connection_id = c.id AND r.status = 'synced'
                       ORDER BY r.last_polled_at NULLS FIRST LIMIT 1) oldest
  ORDER BY oldest.last_polled_at NULLS FIRST`;

/** connections.poll_cursor. */
interface StoredCursor {
  /** The provider's cursor after the last complete poll. */
  position: string;
  /** When that poll started (ISO, our clock). */
  takenAt: string;
}

interface Feed {
  records: ChangedRecords;
  /** Routings synced since then are read by id; null without a stored cursor (records.complete is false then). */
  readByIdSince: Date | null;
}

type BatchRouting = PolledRouting & { syncedAt: Date };

export interface PollResult {
  polled: number;
  changed: number;
  /** Why the poll of this connection stopped early, if it did. */
  stopped?: string;
}

/**
 * Reads the status of one connection's synced routings in batches, through that connection (a routing is polled
 * with the credentials it was synced with, whatever its company uses now), and records what changed.
 */
@Injectable()
export class PollingService {
  private readonly logger = new Logger(PollingService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly connections: ConnectionsService,
    private readonly gateway: ProviderGateway,
    private readonly lifecycle: RoutingLifecycle,
    private readonly config: AppConfig,
  ) {}

  /**
   * Poll sweep: every connection that serves synced routings, least recently polled first. A skip scan: one probe
   * per connection of routings_synced_poll_idx (connection_id, last_polled_at NULLS FIRST WHERE status = 'synced')
   * for its least recently polled routing, index-only, instead of grouping every synced routing.
   */
  async connectionsToPoll(): Promise<string[]> {
    const rows: { connection_id: string }[] = await this.db.query(CONNECTIONS_TO_POLL_SQL);
    return rows.map((r) => r.connection_id);
  }

  /**
   * Polls every routing of the connection not polled since this run started, POLL_BATCH_SIZE at a time. Where the
   * provider has a change feed (Housecall Pro), it is read once for the whole run, from where the last run's stopped:
   * a routing whose record it does not name is unchanged and costs no request. Routings the feed cannot vouch for
   * are read by id: all of them on a first poll or a lost cursor, and those synced since the last run started (their
   * record may have changed before that run's mark, while they were not yet polled).
   */
  async pollConnection(connectionId: string, requestId?: string): Promise<PollResult> {
    const connection = await this.connections.find(connectionId);
    const startedAt = new Date();
    let feed: Feed | null;
    try {
      feed = await this.readFeed(connection, requestId);
    } catch (error) {
      return { polled: 0, changed: 0, stopped: this.logFailure(connection, error) };
    }
    let polled = 0;
    let changed = 0;
    for (;;) {
      const batch = await this.nextBatch(connectionId, startedAt);
      if (!batch.length) break;
      const fromFeed: ReferralStatus[] = [];
      let toRead: PolledRouting[] = batch;
      if (feed) {
        toRead = [];
        for (const routing of batch) {
          const record = feed.records.changes.get(routing.externalId);
          if (record) fromFeed.push({ routingId: routing.id, ...record });
          else if (!feed.records.complete || (feed.readByIdSince && routing.syncedAt >= feed.readByIdSince)) {
            toRead.push(routing);
          }
        }
      }
      let statuses: ReferralStatus[] = fromFeed;
      if (toRead.length) {
        try {
          const read = await this.gateway.getStatuses(connection, {
            queries: toRead.map((r) => ({ routingId: r.id, externalId: r.externalId })),
            requestId,
          });
          statuses = [...fromFeed, ...read];
          const unseen = toRead.length - read.length;
          if (unseen > 0) {
            this.logger.warn(
              { connectionId, provider: connection.providerType, routings: unseen },
              'Provider did not return some synced routings',
            );
          }
        } catch (error) {
          // The routings stay synced and unpolled: the next sweep tries again (an invalid connection has failed them).
          return { polled, changed, stopped: this.logFailure(connection, error) };
        }
      }
      changed += await this.lifecycle.recordPollResults(connectionId, batch, statuses);
      polled += batch.length;
      if (batch.length < this.config.batchSize.poll) break;
    }
    // Only a run that recorded everything moves the mark: a run stopped early starts again from the old one.
    if (feed?.records.cursor) {
      await this.db.query(`UPDATE connections SET poll_cursor = $2 WHERE id = $1`, [
        connectionId,
        { position: feed.records.cursor, takenAt: startedAt.toISOString() } satisfies StoredCursor,
      ]);
    }
    return { polled, changed };
  }

  /** The provider's change feed since this connection's last poll; null when the provider has none. */
  private async readFeed(connection: ConnectionRef, requestId?: string): Promise<Feed | null> {
    if (!this.gateway.hasChangeFeed(connection)) return null;
    const [row]: { poll_cursor: StoredCursor | null; due: number }[] = await this.db.query(
      `SELECT c.poll_cursor,
              (SELECT count(*)::int FROM routings r
                WHERE r.connection_id = c.id AND r.status = 'synced' AND r.external_id IS NOT NULL) AS due
         FROM connections c WHERE c.id = $1`,
      [connection.id],
    );
    if (!row?.due) return null;
    const stored = row.poll_cursor;
    // The feed is worth reading only while it costs fewer requests than reading every due routing by id.
    const records = await this.gateway.readChanges(connection, {
      cursor: stored?.position ?? null,
      maxRequests: row.due,
      requestId,
    });
    if (!records) return null;
    const readByIdSince = stored ? new Date(Date.parse(stored.takenAt) - CURSOR_CLOCK_MARGIN_MS) : null;
    return { records, readByIdSince };
  }

  /**
   * Reads the status of these routings of one connection now (an inbound webhook named them), through the same
   * gateway and lifecycle as the poll sweep. Routings no longer synced are skipped.
   */
  async pollRoutings(connectionId: string, routingIds: string[], requestId?: string): Promise<PollResult> {
    const connection = await this.connections.find(connectionId);
    const batch = toPolled(
      await this.db.query(
        `SELECT id, job_id, external_id, provider_status, provider_status_raw FROM routings
          WHERE id = ANY($1::uuid[]) AND connection_id = $2 AND status = 'synced' AND external_id IS NOT NULL`,
        [routingIds, connectionId],
      ),
    );
    if (!batch.length) return { polled: 0, changed: 0 };
    let statuses;
    try {
      statuses = await this.gateway.getStatuses(connection, {
        queries: batch.map((r) => ({ routingId: r.id, externalId: r.externalId })),
        requestId,
      });
    } catch (error) {
      return { polled: 0, changed: 0, stopped: this.logFailure(connection, error) };
    }
    const changed = await this.lifecycle.recordPollResults(connectionId, batch, statuses);
    return { polled: batch.length, changed };
  }

  private async nextBatch(connectionId: string, startedAt: Date): Promise<BatchRouting[]> {
    return toPolled(
      await this.db.query(
        `SELECT id, job_id, external_id, provider_status, provider_status_raw, synced_at FROM routings
          WHERE connection_id = $1 AND status = 'synced' AND external_id IS NOT NULL
            AND (last_polled_at IS NULL OR last_polled_at < $2)
          ORDER BY last_polled_at NULLS FIRST LIMIT $3`,
        [connectionId, startedAt, this.config.batchSize.poll],
      ),
    );
  }

  private logFailure(connection: ConnectionRef, error: unknown): string {
    const context = { connectionId: connection.id, companyId: connection.companyId, provider: connection.providerType };
    if (error instanceof CircuitOpenError) {
      // The provider failed this connection too often: its poll waits for the next sweep after the circuit reopens.
      this.logger.log({ ...context, reason: error.message }, 'Poll skipped: circuit open');
      return error.message;
    }
    if (error instanceof ProviderError || error instanceof ConnectionUnusableError) {
      this.logger.warn({ ...context, reason: error.message }, 'Poll failed');
      return error.message;
    }
    this.logger.error({ ...context, err: error }, 'Poll failed inside the service');
    return 'internal error';
  }
}

function toPolled(
  rows: {
    id: string;
    job_id: string;
    external_id: string;
    provider_status: ProviderStatus | null;
    provider_status_raw: string | null;
    synced_at?: Date | null;
  }[],
): BatchRouting[] {
  return rows.map((r) => ({
    id: r.id,
    jobId: r.job_id,
    externalId: r.external_id,
    providerStatus: r.provider_status,
    providerStatusRaw: r.provider_status_raw,
    syncedAt: r.synced_at ?? new Date(0),
  }));
}
