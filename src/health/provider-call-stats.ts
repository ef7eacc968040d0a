import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import Redis from 'ioredis';

import { ProviderType } from '../providers/field-service-provider';
import { REDIS } from '../redis/redis.module';

const BUCKET_MS = 60_000;
const WINDOW_BUCKETS = 15;

export interface ProviderCallSummary {
  lastSuccessAt: string | null;
  lastErrorAt: string | null;
  callsLast15m: number;
  errorsLast15m: number;
  errorRate: number;
}

// Calls are counted in memory and written at most this often, in one pipeline: not one Redis round trip per call.
const FLUSH_EVERY_MS = 200;

/**
 * Per-provider call outcomes in one-minute Redis buckets, written by every worker and read by any
 * pod's health endpoint. Writes are fire-and-forget: stats must never slow or fail a sync. They are batched
 * (FLUSH_EVERY_MS), so a health read may lag the calls by that much.
 */
@Injectable()
export class ProviderCallStats implements OnModuleDestroy {
  // bucket key → field (ok / error) → count; last-success / last-error key → time
  private counts = new Map<string, Map<'ok' | 'error', number>>();
  private lastAt = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  record(provider: ProviderType, status: number | string): void {
    const ok = typeof status === 'number' && status < 400;
    const now = Date.now();
    const bucket = `provider-calls:${provider}:${Math.floor(now / BUCKET_MS)}`;
    let fields = this.counts.get(bucket);
    if (!fields) this.counts.set(bucket, (fields = new Map()));
    const field = ok ? 'ok' : 'error';
    fields.set(field, (fields.get(field) ?? 0) + 1);
    this.lastAt.set(`provider-calls:${provider}:last-${ok ? 'success' : 'error'}`, now);
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), FLUSH_EVERY_MS);
      this.timer.unref();
    }
  }

  onModuleDestroy(): void {
    this.flush();
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.counts.size && !this.lastAt.size) return;
    const pipeline = this.redis.pipeline();
    for (const [bucket, fields] of this.counts) {
      for (const [field, n] of fields) pipeline.hincrby(bucket, field, n);
      pipeline.pexpire(bucket, BUCKET_MS * (WINDOW_BUCKETS + 1));
    }
    for (const [key, at] of this.lastAt) pipeline.set(key, String(at));
    this.counts = new Map();
    this.lastAt = new Map();
    pipeline.exec().catch(() => undefined);
  }

  async summary(provider: ProviderType): Promise<ProviderCallSummary> {
    const current = Math.floor(Date.now() / BUCKET_MS);
    const pipeline = this.redis.pipeline();
    for (let i = 0; i < WINDOW_BUCKETS; i++) pipeline.hgetall(`provider-calls:${provider}:${current - i}`);
    pipeline.get(`provider-calls:${provider}:last-success`);
    pipeline.get(`provider-calls:${provider}:last-error`);
    const results = ((await pipeline.exec()) ?? []).map(([error, value]) => {
      if (error) throw error;
      return value;
    });
    const buckets = results.slice(0, WINDOW_BUCKETS) as Record<string, string>[];
    const ok = buckets.reduce((n, b) => n + Number(b.ok ?? 0), 0);
    const errors = buckets.reduce((n, b) => n + Number(b.error ?? 0), 0);
    const [lastSuccess, lastError] = results.slice(WINDOW_BUCKETS) as (string | null)[];
    return {
      lastSuccessAt: lastSuccess ? new Date(Number(lastSuccess)).toISOString() : null,
      lastErrorAt: lastError ? new Date(Number(lastError)).toISOString() : null,
      callsLast15m: ok + errors,
      errorsLast15m: errors,
      errorRate: ok + errors ? Number((errors / (ok + errors)).toFixed(3)) : 0,
    };
  }
}
