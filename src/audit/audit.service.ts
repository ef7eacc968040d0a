import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

import { Page, pageQuery, toPage } from '../common/pagination';
import { AuditEvent } from './audit-event.entity';
import { AuditEventResponse } from './dto/audit-event.response';
import { ListAuditEventsQuery } from './dto/list-audit-events.query';

// Rows deleted per statement by the retention purge: short transactions, no long lock on the table.
export const AUDIT_PURGE_BATCH_SIZE = 5_000;

export function toAuditEventResponse(event: AuditEvent): AuditEventResponse {
  return {
    id: event.id,
    at: event.createdAt,
    actor: { apiKeyId: event.actorKeyId, role: event.actorRole, companyId: event.actorCompanyId },
    action: event.action,
    resourceType: event.resourceType,
    resourceId: event.resourceId,
    requestId: event.requestId,
    changes: event.changes,
  };
}

/** Reads the audit trail; events are written by recordAuditEvent (audit.ts) in the transaction of their change. */
@Injectable()
export class AuditService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async list(query: ListAuditEventsQuery): Promise<Page<AuditEventResponse>> {
    const qb = this.db.getRepository(AuditEvent).createQueryBuilder('e');
    if (query.action) qb.andWhere('e.action = :action', { action: query.action });
    if (query.resourceType) qb.andWhere('e.resourceType = :resourceType', { resourceType: query.resourceType });
    if (query.resourceId) qb.andWhere('e.resourceId = :resourceId', { resourceId: query.resourceId });
    if (query.actorKeyId) qb.andWhere('e.actorKeyId = :actorKeyId', { actorKeyId: query.actorKeyId });
    if (query.from) qb.andWhere('e.createdAt >= :from', { from: query.from });
    if (query.to) qb.andWhere('e.createdAt < :to', { to: query.to });
    const page = toPage(await pageQuery(qb, 'e', query).getMany(), query.limit);
    return { items: page.items.map(toAuditEventResponse), nextCursor: page.nextCursor };
  }

  /**
   * Retention (AUDIT_RETENTION_DAYS): deletes events older than `cutoff`, oldest first, AUDIT_PURGE_BATCH_SIZE per
   * statement, until none is left. The only path that removes audit events.
   */
  async purgeOlderThan(cutoff: Date): Promise<number> {
    let total = 0;
    for (;;) {
      const [, deleted] = (await this.db.query(
        `DELETE FROM audit_events WHERE id IN (
           SELECT id FROM audit_events WHERE created_at < $1 ORDER BY created_at LIMIT $2)`,
        [cutoff, AUDIT_PURGE_BATCH_SIZE],
      )) as [unknown, number];
      total += deleted;
      if (deleted < AUDIT_PURGE_BATCH_SIZE) return total;
    }
  }
}
