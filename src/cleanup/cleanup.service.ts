import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';

import { AuditService } from '../audit/audit.service';
import { AppConfig } from '../config/app-config';
import { IdempotencyService } from '../jobs/idempotency.service';
import { RoutingLifecycle } from '../routing/routing-lifecycle';

const ARCHIVE_BATCH_SIZE = 500;
const WEBHOOK_EVENTS_BATCH_SIZE = 5000;

export interface CleanupResult {
  archivedJobs: number;
  expiredIdempotencyKeys: number;
  rescuedRoutings: number;
  expiredWebhookEvents: number;
  purgedAuditEvents: number;
}

/**
 * The daily cleanup: archive old finished jobs, expire idempotency keys, rescue stuck syncs, purge audit events past
 * their retention. Archiving never touches audit events: they have their own retention (AUDIT_RETENTION_DAYS).
 */
@Injectable()
export class CleanupService {
  private readonly logger = new Logger(CleanupService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly idempotency: IdempotencyService,
    private readonly lifecycle: RoutingLifecycle,
    private readonly audit: AuditService,
    private readonly config: AppConfig,
  ) {}

  async run(now = new Date()): Promise<CleanupResult> {
    const rescuedRoutings = await this.lifecycle.rescueStuck(this.config.syncStaleAfterMs);
    const expiredIdempotencyKeys = await this.idempotency.expire();
    const archivedJobs = await this.archiveFinishedJobs(now);
    const purgedAuditEvents = await this.audit.purgeOlderThan(
      new Date(now.getTime() - this.config.auditRetentionDays * 86_400_000),
    );
    const expiredWebhookEvents = await this.expireWebhookEvents(now);
    const result = { archivedJobs, expiredIdempotencyKeys, rescuedRoutings, purgedAuditEvents, expiredWebhookEvents };
    this.logger.log(result, 'Cleanup finished');
    return result;
  }

  /**
   * Copies finished jobs older than ARCHIVE_AFTER_DAYS with their routings and events to the archive
   * tables and deletes them, ARCHIVE_BATCH_SIZE jobs per transaction, until none is left.
   */
  async archiveFinishedJobs(now = new Date()): Promise<number> {
    const cutoff = new Date(now.getTime() - this.config.archiveAfterDays * 86_400_000);
    let total = 0;
    for (;;) {
      const archived = await this.db.transaction(async (m) => {
        const batch: { id: string }[] = await m.query(
          `SELECT id FROM jobs WHERE finished_at < $1 AND status IN ('completed', 'canceled')
            ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
          [cutoff, ARCHIVE_BATCH_SIZE],
        );
        if (!batch.length) return 0;
        const ids = batch.map((r) => r.id);
        // By column name: migrations append columns to the live and archive tables in different orders.
        const jobs = await columnsOf(m, 'jobs');
        const routings = await columnsOf(m, 'routings');
        const events = await columnsOf(m, 'routing_events');
        const list = (columns: string[], alias = '') => columns.map((c) => `${alias}"${c}"`).join(', ');
        await m.query(
          `INSERT INTO archived_jobs (${list(jobs)}, archived_at)
             SELECT ${list(jobs)}, now() FROM jobs WHERE id = ANY($1::uuid[])`,
          [ids],
        );
        await m.query(
          `INSERT INTO archived_routings (${list(routings)}, archived_at)
             SELECT ${list(routings)}, now() FROM routings WHERE job_id = ANY($1::uuid[])`,
          [ids],
        );
        await m.query(
          `INSERT INTO archived_routing_events (${list(events)}, archived_at)
             SELECT ${list(events, 'e.')}, now() FROM routing_events e
             JOIN routings r ON r.id = e.routing_id WHERE r.job_id = ANY($1::uuid[])`,
          [ids],
        );
        // Routings and their events go with the job (ON DELETE CASCADE).
        await m.query(`DELETE FROM jobs WHERE id = ANY($1::uuid[])`, [ids]);
        return ids.length;
      });
      total += archived;
      if (archived < ARCHIVE_BATCH_SIZE) return total;
    }
  }

  /**
   * Outbound webhook events older than ARCHIVE_AFTER_DAYS that nothing is still trying to deliver go, with their
   * deliveries and attempt log (the delivery log keeps the same age as live jobs).
   */
  async expireWebhookEvents(now = new Date()): Promise<number> {
    const cutoff = new Date(now.getTime() - this.config.archiveAfterDays * 86_400_000);
    let total = 0;
    for (;;) {
      const [, deleted] = (await this.db.query(
        `DELETE FROM webhook_events WHERE id IN (
           SELECT e.id FROM webhook_events e
            WHERE e.created_at < $1
              AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id AND d.status = 'pending')
            LIMIT $2)`,
        [cutoff, WEBHOOK_EVENTS_BATCH_SIZE],
      )) as [unknown, number];
      total += deleted;
      if (deleted < WEBHOOK_EVENTS_BATCH_SIZE) return total;
    }
  }
}

/** The live table's columns, read each time: a migration may add one while the worker runs. */
async function columnsOf(m: EntityManager, table: string): Promise<string[]> {
  const rows: { name: string }[] = await m.query(
    `SELECT column_name AS name FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  return rows.map((r) => r.name);
}
