import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';

import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { Queue } from 'bullmq';

import { providerCatalog } from '../providers/provider-catalog';
import { ALL_QUEUES } from '../queue/queues';
import { ProviderCallStats } from './provider-call-stats';
import { withTimeout } from './redis.health';

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
      const details = await withTimeout(Promise.all(this.queues.map((q) => this.describe(q))), timeoutMs);
      const starving = details.filter((d) => d.waiting > 0 && d.workers === 0).map((d) => d.name);
      const info = Object.fromEntries(details.map(({ name, ...rest }) => [name, rest]));
      return starving.length
        ? indicator.down({ ...info, message: `no worker consumes: ${starving.join(', ')}` })
        : indicator.up(info);
    } catch (error) {
      return indicator.down({ message: (error as Error).message });
    }
  }

  private async describe(queue: Queue) {
    const [counts, workers, oldest] = await Promise.all([
      queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed'),
      queue.getWorkersCount(),
      queue.getJobs(['waiting', 'prioritized'], 0, 0, true),
    ]);
    return {
      name: queue.name,
      waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
      active: counts.active ?? 0,
      delayed: counts.delayed ?? 0,
      failed: counts.failed ?? 0,
      workers,
      oldestWaitingAgeMs: oldest[0] ? Date.now() - oldest[0].timestamp : null,
    };
  }
}

@Injectable()
export class ProvidersHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly stats: ProviderCallStats,
  ) {}

  async isHealthy(key: string, timeoutMs: number): Promise<HealthIndicatorResult> {
    const indicator = this.health.check(key);
    try {
      const summaries = await withTimeout(
        Promise.all(providerCatalog.types().map(async (type) => [type, await this.stats.summary(type)] as const)),
        timeoutMs,
      );
      const info = Object.fromEntries(summaries);
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
