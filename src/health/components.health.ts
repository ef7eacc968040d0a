import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';

import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { Queue } from 'bullmq';

import { CircuitBreaker } from '../providers/circuit-breaker';
import { providerCatalog } from '../providers/provider-catalog';
import { readQueueStats } from '../queue/queue-stats';
import { ALL_QUEUES } from '../queue/queues';
import { ProviderCallStats } from './provider-call-stats';
import { withDeadline } from '../redis/deadline';

// A provider is reported down when most of a meaningful number of recent calls failed.
const PROVIDER_DOWN_ERROR_RATE = 0.5;
const PROVIDER_MIN_CALLS = 20;
const EVENT_LOOP_P99_LIMIT_MS = 1000;
const HEAP_LIMIT_SHARE = 0.95;

@Injectable()
export class QueuesHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    @Inject(ALL_QUEUES) private readonly queues: Queue[],
  ) {}

  /** Depth per queue, workers connected (cluster-wide, from Redis) and the age of the oldest waiting job. */
  async isHealthy(key: string, timeoutMs: number): Promise<HealthIndicatorResult> {
    const indicator = this.health.check(key);
    try {
      const stats = await Promise.all(this.queues.map((q) => readQueueStats(q, timeoutMs)));
      const details = stats.map(({ name, counts, workers, oldestWaitingAgeMs }) => ({
        name,
        waiting: counts.waiting + counts.prioritized,
        active: counts.active,
        delayed: counts.delayed,
        failed: counts.failed,
        workers,
        oldestWaitingAgeMs,
      }));
      const starving = details.filter((d) => d.waiting > 0 && d.workers === 0).map((d) => d.name);
      const info = Object.fromEntries(details.map(({ name, ...rest }) => [name, rest]));
      return starving.length
        ? indicator.down({ ...info, message: `no worker consumes: ${starving.join(', ')}` })
        : indicator.up(info);
    } catch (error) {
      return indicator.down({ message: (error as Error).message });
    }
  }
}

@Injectable()
export class ProvidersHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly stats: ProviderCallStats,
    private readonly circuits: CircuitBreaker,
  ) {}

  /**
   * Calls and error rate over 15 min per provider, and every connection whose circuit is open. One
   * open circuit is one partner's account failing, not the component: only a provider failing most
   * of its calls makes it down.
   */
  async isHealthy(key: string, timeoutMs: number): Promise<HealthIndicatorResult> {
    const indicator = this.health.check(key);
    try {
      const [summaries, open] = await withDeadline(
        Promise.all([
          Promise.all(providerCatalog.types().map(async (type) => [type, await this.stats.summary(type)] as const)),
          this.circuits.openCircuits(),
        ]),
        timeoutMs,
      );
      const info = {
        ...Object.fromEntries(summaries),
        openCircuits: open.map((c) => ({ ...c, until: c.until.toISOString() })),
      };
      const failing = summaries
        .filter(([, s]) => s.callsLast15m >= PROVIDER_MIN_CALLS && s.errorRate >= PROVIDER_DOWN_ERROR_RATE)
        .map(([type]) => type);
      return failing.length
        ? indicator.down({ ...info, message: `mostly failing: ${failing.join(', ')}` })
        : indicator.up(info);
    } catch (error) {
      return indicator.down({ message: (error as Error).message });
    }
  }
}

@Injectable()
export class SystemHealthIndicator implements OnModuleDestroy {
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 20 });

  constructor(private readonly health: HealthIndicatorService) {
    this.loopDelay.enable();
  }

  onModuleDestroy(): void {
    this.loopDelay.disable();
  }

  isHealthy(key: string): HealthIndicatorResult {
    const indicator = this.health.check(key);
    const memory = process.memoryUsage();
    const heapLimit = getHeapStatistics().heap_size_limit;
    const p99Ms = this.loopDelay.percentile(99) / 1e6;
    const info = {
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      heapLimitBytes: heapLimit,
      eventLoopDelayP99Ms: Number(p99Ms.toFixed(1)),
      eventLoopDelayMeanMs: Number((this.loopDelay.mean / 1e6).toFixed(1)),
      uptimeSeconds: Math.round(process.uptime()),
    };
    this.loopDelay.reset();
    if (p99Ms > EVENT_LOOP_P99_LIMIT_MS) return indicator.down({ ...info, message: 'event loop is blocked' });
    if (memory.heapUsed > heapLimit * HEAP_LIMIT_SHARE)
      return indicator.down({ ...info, message: 'heap nearly exhausted' });
    return indicator.up(info);
  }
}
