import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

import { CompaniesService } from '../companies/companies.service';
import { AppConfig } from '../config/app-config';
import { refreshJobAggregates } from '../jobs/job-aggregate';
import { ProviderStatus, ProviderType, ReferralStatus } from '../providers/field-service-provider';
import { ProviderRegistry } from '../providers/provider-registry';
import { ProviderCallHooksFactory } from '../sync/provider-call-hooks';

interface SyncedRouting {
  id: string;
  job_id: string;
  external_id: string;
  provider_type: ProviderType;
  provider_status: ProviderStatus | null;
  provider_status_raw: string | null;
}

// The provider's normalized status decides the routing's own status.
const FINAL_ROUTING_STATUS: Partial<Record<ProviderStatus, 'completed' | 'canceled'>> = {
  completed: 'completed',
  canceled: 'canceled',
};

/** Reads the status of one company's synced routings in batches and records what changed. */
@Injectable()
export class PollingService {
  private readonly logger = new Logger(PollingService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly providers: ProviderRegistry,
    private readonly companies: CompaniesService,
    private readonly hooks: ProviderCallHooksFactory,
    private readonly config: AppConfig,
  ) {}

  /** Poll sweep: every company that has synced routings, least recently polled first. */
  async companiesToPoll(): Promise<string[]> {
    const rows: { company_id: string }[] = await this.db.query(
      `SELECT company_id FROM routings WHERE status = 'synced'
        GROUP BY company_id ORDER BY min(last_polled_at) NULLS FIRST`,
    );
    return rows.map((r) => r.company_id);
  }

  /** Polls every routing of the company not polled since this run started, POLL_BATCH_SIZE at a time. */
  async pollCompany(companyId: string, requestId?: string): Promise<{ polled: number; changed: number }> {
    const startedAt = new Date();
    let polled = 0;
    let changed = 0;
    for (;;) {
      const batch: SyncedRouting[] = await this.db.query(
        `SELECT id, job_id, external_id, provider_type, provider_status, provider_status_raw FROM routings
          WHERE company_id = $1 AND status = 'synced' AND external_id IS NOT NULL
            AND (last_polled_at IS NULL OR last_polled_at < $2)
          ORDER BY last_polled_at NULLS FIRST LIMIT $3`,
        [companyId, startedAt, this.config.batchSize.poll],
      );
      if (!batch.length) break;
      changed += await this.pollBatch(companyId, batch, requestId);
      polled += batch.length;
      if (batch.length < this.config.batchSize.poll) break;
    }
    return { polled, changed };
  }

  private async pollBatch(companyId: string, batch: SyncedRouting[], requestId?: string): Promise<number> {
    const providerType = batch[0].provider_type;
    const hooks = this.hooks.create({ provider: providerType, account: companyId, requestId });
    const credentials = await this.companies.credentialsFor(companyId);
    const statuses = await this.providers
      .get(providerType)
      .getStatuses({ credentials, queries: batch.map((r) => ({ routingId: r.id, externalId: r.external_id })), hooks });
    const byRouting = new Map(statuses.map((s) => [s.routingId, s]));

    return this.db.transaction(async (m) => {
      let changed = 0;
      const touchedJobs: string[] = [];
      for (const routing of batch) {
        const status = byRouting.get(routing.id);
        if (!status) continue;
        const finalStatus = FINAL_ROUTING_STATUS[status.status];
        const [, affected] = (await m.query(
          `UPDATE routings SET provider_status = $2, provider_status_raw = $3, completed_at = $4, revenue_cents = $5,
                  last_polled_at = now(),
                  status = COALESCE($6, status),
                  status_changed_at = CASE WHEN $6::text IS NOT NULL THEN now() ELSE status_changed_at END,
                  updated_at = now()
            WHERE id = $1 AND status = 'synced'`,
          [routing.id, status.status, status.rawStatus, status.completedAt, status.revenueCents, finalStatus ?? null],
        )) as [unknown, number];
        if (!affected || !isChange(routing, status)) continue;
        changed++;
        touchedJobs.push(routing.job_id);
        await m.query(`INSERT INTO routing_events (routing_id, type, outcome, message) VALUES ($1, 'poll', $2, $3)`, [
          routing.id,
          status.status,
          `provider status ${routing.provider_status_raw ?? 'none'} → ${status.rawStatus}`,
        ]);
        if (finalStatus) {
          await m.query(
            `INSERT INTO routing_events (routing_id, type, outcome, message) VALUES ($1, 'status_change', $2, $3)`,
            [
              routing.id,
              finalStatus,
              `synced → ${finalStatus}${status.revenueCents !== null ? ` (revenue ${status.revenueCents} cents)` : ''}`,
            ],
          );
        }
      }
      // Routings polled without a result (unknown at the provider) still count as polled.
      const missing = batch.filter((r) => !byRouting.has(r.id)).map((r) => r.id);
      if (missing.length) {
        await m.query(`UPDATE routings SET last_polled_at = now() WHERE id = ANY($1::uuid[])`, [missing]);
        this.logger.warn({ companyId, routings: missing.length }, 'Provider did not return some synced routings');
      }
      await refreshJobAggregates(m, touchedJobs);
      return changed;
    });
  }
}

function isChange(routing: SyncedRouting, status: ReferralStatus): boolean {
  return routing.provider_status !== status.status || routing.provider_status_raw !== status.rawStatus;
}
