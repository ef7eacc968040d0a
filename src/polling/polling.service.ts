import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

import { AppConfig } from '../config/app-config';
import { CircuitOpenError, ConnectionUnusableError } from '../connections/connection-errors';
import { ConnectionRef, ConnectionsService } from '../connections/connections.service';
import { ProviderStatus } from '../providers/field-service-provider';
import { ProviderError } from '../providers/provider-error';
import { ProviderGateway } from '../providers/provider-gateway';
import { PolledRouting, RoutingLifecycle } from '../routing/routing-lifecycle';

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

  /** Poll sweep: every connection that serves synced routings, least recently polled first. */
  async connectionsToPoll(): Promise<string[]> {
    const rows: { connection_id: string }[] = await this.db.query(
      `SELECT connection_id FROM routings WHERE status = 'synced' AND connection_id IS NOT NULL
        GROUP BY connection_id ORDER BY min(last_polled_at) NULLS FIRST`,
    );
    return rows.map((r) => r.connection_id);
  }

  /** Polls every routing of the connection not polled since this run started, POLL_BATCH_SIZE at a time. */
  async pollConnection(connectionId: string, requestId?: string): Promise<PollResult> {
    const connection = await this.connections.find(connectionId);
    const startedAt = new Date();
    let polled = 0;
    let changed = 0;
    for (;;) {
      const batch = await this.nextBatch(connectionId, startedAt);
      if (!batch.length) break;
      let statuses;
      try {
        statuses = await this.gateway.getStatuses(connection, {
          queries: batch.map((r) => ({ routingId: r.id, externalId: r.externalId })),
          requestId,
        });
      } catch (error) {
        // The routings stay synced and unpolled: the next sweep tries again (an invalid connection has failed them).
        return { polled, changed, stopped: this.logFailure(connection, error) };
      }
      changed += await this.lifecycle.recordPollResults(connectionId, batch, statuses);
      polled += batch.length;
      const unseen = batch.length - statuses.length;
      if (unseen > 0) {
        this.logger.warn(
          { connectionId, provider: connection.providerType, routings: unseen },
          'Provider did not return some synced routings',
        );
      }
      if (batch.length < this.config.batchSize.poll) break;
    }
    return { polled, changed };
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

  private async nextBatch(connectionId: string, startedAt: Date): Promise<PolledRouting[]> {
    return toPolled(
      await this.db.query(
        `SELECT id, job_id, external_id, provider_status, provider_status_raw FROM routings
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
  }[],
): PolledRouting[] {
  return rows.map((r) => ({
    id: r.id,
    jobId: r.job_id,
    externalId: r.external_id,
    providerStatus: r.provider_status,
    providerStatusRaw: r.provider_status_raw,
  }));
}
