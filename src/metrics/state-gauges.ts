import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Queue } from 'bullmq';
import { Gauge } from 'prom-client';
import { DataSource } from 'typeorm';

import { ALL_QUEUES } from '../queue/queues';
import { ROUTING_STATUSES } from '../routing/routing-status';
import { METRIC } from './metrics';

const QUEUE_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed'] as const;
// Counting routings by status reads the whole table (~0.2 s at a million rows): scrapes within
// this window share one read.
const CACHE_MS = 30_000;

/** Fills the `routings`, `webhook_outbox_pending` and `queue_jobs` gauges from PostgreSQL and Redis when /metrics is scraped. */
@Injectable()
export class StateGauges {
  private lastRead = 0;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectMetric(METRIC.routings) private readonly routings: Gauge,
    @InjectMetric(METRIC.queueJobs) private readonly queueJobs: Gauge,
    @InjectMetric(METRIC.webhookOutboxPending) private readonly outboxPending: Gauge,
    @Inject(ALL_QUEUES) private readonly queues: Queue[],
  ) {}

  async refresh(): Promise<void> {
    // The outbox backlog is small and indexed (pending rows only): read on every scrape.
    try {
      const [pending]: { n: number }[] = await this.db.query(
        `SELECT count(DISTINCT event_id)::int AS n FROM webhook_deliveries WHERE status = 'pending'`,
      );
      this.outboxPending.set(pending.n);
    } catch {
      // as below
    }
    if (Date.now() - this.lastRead < CACHE_MS) return;
    this.lastRead = Date.now();
    try {
      const rows: { status: string; n: number }[] = await this.db.query(
        `SELECT status, count(*)::int AS n FROM routings GROUP BY status`,
      );
      for (const status of ROUTING_STATUSES)
        this.routings.set({ status }, rows.find((r) => r.status === status)?.n ?? 0);
    } catch {
      // A scrape during a database outage shows the last values; health reports the outage.
    }
    await Promise.all(
      this.queues.map(async (queue) => {
        try {
          const counts = await queue.getJobCounts(...QUEUE_STATES);
          for (const state of QUEUE_STATES) this.queueJobs.set({ queue: queue.name, state }, counts[state] ?? 0);
        } catch {
          // as above, for Redis
        }
      }),
    );
  }
}
