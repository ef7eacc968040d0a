import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Queue } from 'bullmq';
import { Gauge } from 'prom-client';
import { DataSource } from 'typeorm';

import { CircuitBreaker } from '../providers/circuit-breaker';
import { providerCatalog } from '../providers/provider-catalog';
import { QUEUE_STATES, readQueueStats } from '../queue/queue-stats';
import { ALL_QUEUES } from '../queue/queues';
import { REDIS_DEADLINE_MS, withDeadline } from '../redis/deadline';
import { ROUTING_STATUSES } from '../routing/routing-status';
import { METRIC } from './metrics';

// Counting routings by status reads the whole table (~0.2 s at a million rows): scrapes within
// this window share one read.
const CACHE_MS = 30_000;

/**
 * Fills the gauges read at scrape time: routings by status and the outbound webhook backlog from PostgreSQL, queue
 * state and open circuits from Redis. Each source has a deadline, so a scrape always answers (SPEC section 12): what
 * could not be read in time is left out of that scrape, and `redis_available` says why.
 */
@Injectable()
export class StateGauges {
  private lastRoutingsRead = 0;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(ALL_QUEUES) private readonly queues: Queue[],
    private readonly circuits: CircuitBreaker,
    @InjectMetric(METRIC.routings) private readonly routings: Gauge,
    @InjectMetric(METRIC.queueJobs) private readonly queueJobs: Gauge,
    @InjectMetric(METRIC.queueOldestJobAge) private readonly queueOldestJobAge: Gauge,
    @InjectMetric(METRIC.queueWorkers) private readonly queueWorkers: Gauge,
    @InjectMetric(METRIC.redisAvailable) private readonly redisAvailable: Gauge,
    @InjectMetric(METRIC.circuitOpen) private readonly circuitOpen: Gauge,
    @InjectMetric(METRIC.webhookOutboxPending) private readonly outboxPending: Gauge,
  ) {}

  async refresh(): Promise<void> {
    const [queuesRead, circuitsRead] = await Promise.all([
      this.refreshQueues(),
      this.refreshCircuits(),
      this.refreshRoutings(),
      this.refreshOutbox(),
    ]);
    this.redisAvailable.set(queuesRead && circuitsRead ? 1 : 0);
  }

  private async refreshRoutings(): Promise<void> {
    if (Date.now() - this.lastRoutingsRead < CACHE_MS) return;
    this.lastRoutingsRead = Date.now();
    try {
      const rows: { status: string; n: number }[] = await withDeadline(
        this.db.query(`SELECT status, count(*)::int AS n FROM routings GROUP BY status`),
        REDIS_DEADLINE_MS,
        'PostgreSQL',
      );
      for (const status of ROUTING_STATUSES)
        this.routings.set({ status }, rows.find((r) => r.status === status)?.n ?? 0);
    } catch {
      // A scrape during a database outage shows the last values; health reports the outage.
      this.lastRoutingsRead = 0;
    }
  }

  /** Outbound events not yet delivered to every endpoint: few rows, indexed (pending only), read on every scrape. */
  private async refreshOutbox(): Promise<void> {
    try {
      const [pending]: { n: number }[] = await withDeadline(
        this.db.query(`SELECT count(DISTINCT event_id)::int AS n FROM webhook_deliveries WHERE status = 'pending'`),
        REDIS_DEADLINE_MS,
        'PostgreSQL',
      );
      this.outboxPending.set(pending.n);
    } catch {
      // As for routings: the last value stays; health reports the database outage.
    }
  }

  private async refreshQueues(): Promise<boolean> {
    const results = await Promise.allSettled(this.queues.map((queue) => readQueueStats(queue, REDIS_DEADLINE_MS)));
    results.forEach((result, i) => {
      const queue = this.queues[i].name;
      if (result.status === 'rejected') {
        // Stale numbers would look like a quiet queue: leave the series out of this scrape instead.
        for (const state of QUEUE_STATES) this.queueJobs.remove({ queue, state });
        this.queueOldestJobAge.remove({ queue });
        this.queueWorkers.remove({ queue });
        return;
      }
      const { counts, workers, oldestWaitingAgeMs } = result.value;
      for (const state of QUEUE_STATES) this.queueJobs.set({ queue, state }, counts[state]);
      this.queueOldestJobAge.set({ queue }, (oldestWaitingAgeMs ?? 0) / 1000);
      this.queueWorkers.set({ queue }, workers);
    });
    return results.every((r) => r.status === 'fulfilled');
  }

  private async refreshCircuits(): Promise<boolean> {
    try {
      const open = await withDeadline(this.circuits.openCircuits(), REDIS_DEADLINE_MS);
      const counts = new Map<string, number>(providerCatalog.types().map((provider) => [provider, 0]));
      for (const { provider = 'unknown' } of open) counts.set(provider, (counts.get(provider) ?? 0) + 1);
      for (const [provider, n] of counts) this.circuitOpen.set({ provider }, n);
      return true;
    } catch {
      this.circuitOpen.reset();
      return false;
    }
  }
}
