import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import Redis from 'ioredis';
import { Counter } from 'prom-client';

import { AppConfig } from '../config/app-config';
import { AvailabilityLog } from '../logging/availability-log';
import { METRIC } from '../metrics/metrics';
import { ProviderType, QueryBudget } from './field-service-provider';
import { RateLimit } from './provider-definition';
import { ProviderError } from './provider-error';
import { LuaScript, luaScript } from '../redis/lua-script';
import { REDIS } from '../redis/redis.module';

/**
 * One atomic decision per call, on Redis's clock, shared by every worker process:
 *  - a cooldown set after a provider 429 blocks the whole account;
 *  - sliding windows of one minute and one hour (a sorted set of call times) cap the rates;
 *  - GCRA spaces calls at perMinute/60 per second once `burst` calls were spent at once.
 * The windows are counted MARGIN_MS wider than the provider's, because a call reaches the provider
 * a few milliseconds after it leaves here: exactly 60,000 ms later would land inside its window.
 * Returns 0 and records the call when it may go now, else how many ms to wait.
 */
const WINDOW_MARGIN_MS = 1000;
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local perMinute, perHour, burst, margin = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[5])
local minute, hour = 60000 + margin, 3600000 + margin
local wait = 0
local cooldown = tonumber(redis.call('GET', KEYS[3]) or '0')
if cooldown > now then wait = cooldown - now end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - hour)
local inHour = redis.call('ZCARD', KEYS[1])
if inHour >= perHour then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  wait = math.max(wait, tonumber(oldest[2]) + hour - now + 1)
end
local inMinute = redis.call('ZCOUNT', KEYS[1], now - minute + 1, '+inf')
if inMinute >= perMinute then
  -- the call that must leave the window before ours fits
  local leaving = redis.call('ZRANGEBYSCORE', KEYS[1], now - minute + 1, '+inf', 'WITHSCORES', 'LIMIT', inMinute - perMinute, 1)
  wait = math.max(wait, tonumber(leaving[2]) + minute - now)
end
local interval = 60000 / perMinute
local tat = tonumber(redis.call('GET', KEYS[2]) or '0')
if tat < now then tat = now end
local allowAt = tat + interval - burst * interval
if allowAt > now then wait = math.max(wait, math.ceil(allowAt - now)) end
if wait > 0 then return wait end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], hour)
redis.call('SET', KEYS[2], tostring(tat + interval), 'PX', math.ceil(burst * interval + 60000))
return 0`;

const COOL_DOWN = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untilMs = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if untilMs > current then redis.call('SET', KEYS[1], tostring(untilMs), 'PX', ARGV[1]) end
return untilMs`;

/**
 * A provider's query budget (Jobber's cost bucket), as it last reported it, drained by what we send since:
 * returns 0 and takes `cost` points when they are there now, else how many ms until they are. Nothing known yet:
 * go (the answer reports the budget). A cost above the maximum waits for a full bucket, never for ever.
 */
const TAKE_BUDGET = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'available', 'maximum', 'restore', 'at')
if not b[1] then return 0 end
local maximum, restore = tonumber(b[2]), tonumber(b[3])
local available = math.min(maximum, tonumber(b[1]) + restore * (now - tonumber(b[4])) / 1000)
local cost = math.min(tonumber(ARGV[1]), maximum)
if available >= cost then
  redis.call('HSET', KEYS[1], 'available', tostring(available - cost), 'at', tostring(now))
  return 0
end
if restore <= 0 then return 1000 end
return math.ceil((cost - available) / restore * 1000)`;

const RECORD_BUDGET = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], 'available', ARGV[1], 'maximum', ARGV[2], 'restore', ARGV[3], 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], 3600000)
return 1`;

/** Retryable: the next attempt gets a fresh time limit. */
function timeLimitReached(): ProviderError {
  return new ProviderError({
    code: 'TIMEOUT',
    retryable: true,
    providerMessage: 'the sync attempt reached its time limit before this call',
  });
}

/** The shared per-account limit of SPEC section 6 (an account is a connection): calls wait for their slot instead of failing. */
@Injectable()
export class ProviderRateLimiter {
  private readonly logger = new Logger(ProviderRateLimiter.name);
  // Fail-open calls are counted one by one (provider_rate_limiter_fail_open_total); the log says it once.
  private readonly availability = new AvailabilityLog(
    this.logger,
    {},
    {
      down: 'Provider rate limiter unavailable (Redis): calls proceed unthrottled',
      up: 'Provider rate limiter available again',
    },
  );

  // Run by SHA (EVALSHA): the script text is not sent with every call.
  private readonly scripts: {
    acquire: LuaScript<number>;
    coolDown: LuaScript<number>;
    takeBudget: LuaScript<number>;
    recordBudget: LuaScript<number>;
  };

  constructor(
    @Inject(REDIS) redis: Redis,
    private readonly config: AppConfig,
    @InjectMetric(METRIC.providerRateLimited) private readonly rateLimited: Counter,
    @InjectMetric(METRIC.rateLimiterFailOpen) private readonly failOpen: Counter,
  ) {
    this.scripts = {
      acquire: luaScript(redis, 'providerRateLimitAcquire', 3, ACQUIRE),
      coolDown: luaScript(redis, 'providerRateLimitCoolDown', 1, COOL_DOWN),
      takeBudget: luaScript(redis, 'providerRateLimitTakeBudget', 1, TAKE_BUDGET),
      recordBudget: luaScript(redis, 'providerRateLimitRecordBudget', 1, RECORD_BUDGET),
    };
  }

  limitsFor(provider: ProviderType): RateLimit {
    return this.config.rateLimitFor(provider);
  }

  /**
   * Resolves when the account may make one more call, and, with `cost`, when its query budget has that many points
   * (or at `deadline`, after which the caller gives up).
   */
  async acquire(
    provider: ProviderType,
    account: string,
    deadline = Number.POSITIVE_INFINITY,
    cost?: number,
  ): Promise<void> {
    await this.takeSlot(provider, account, deadline);
    if (cost) await this.takeBudget(provider, account, deadline, cost);
  }

  /** The query budget the provider reported with an answer; what later calls wait on. */
  async recordBudget(provider: ProviderType, account: string, budget: QueryBudget): Promise<void> {
    try {
      await this.scripts.recordBudget(
        [this.keys(provider, account).budget],
        [budget.available, budget.maximum, budget.restoreRate],
      );
    } catch (error) {
      this.logger.warn({ provider, err: (error as Error).message }, 'Could not record the provider query budget');
    }
  }

  private async takeBudget(provider: ProviderType, account: string, deadline: number, cost: number): Promise<void> {
    for (;;) {
      if (Date.now() >= deadline) throw timeLimitReached();
      let waitMs: number;
      try {
        waitMs = Number(await this.scripts.takeBudget([this.keys(provider, account).budget], [cost]));
      } catch {
        return; // fail open, as for the rate limit; the provider's own throttling still protects it
      }
      if (waitMs <= 0) return;
      if (Date.now() + waitMs > deadline) throw timeLimitReached();
      await sleep(Math.min(waitMs, 10_000) + Math.floor(Math.random() * 20));
    }
  }

  private async takeSlot(provider: ProviderType, account: string, deadline: number): Promise<void> {
    const limit = this.limitsFor(provider);
    const keys = this.keys(provider, account);
    let throttled = false;
    for (;;) {
      // No new provider request once the job's time limit has passed, even with a free slot.
      if (Date.now() >= deadline) throw timeLimitReached();
      let waitMs: number;
      try {
        waitMs = Number(
          await this.scripts.acquire(
            [keys.calls, keys.tat, keys.cooldown],
            [limit.perMinute, limit.perHour, limit.burst, randomUUID(), WINDOW_MARGIN_MS],
          ),
        );
      } catch (error) {
        // Fail open: a Redis outage must not stop syncing; the provider's own 429s still protect it.
        this.failOpen.inc({ provider });
        this.availability.down(error);
        return;
      }
      this.availability.up();
      if (waitMs <= 0) return;
      if (!throttled) {
        throttled = true;
        this.rateLimited.inc({ provider });
      }
      if (Date.now() + waitMs > deadline) throw timeLimitReached();
      await sleep(Math.min(waitMs, 10_000) + Math.floor(Math.random() * 20));
    }
  }

  /** After a provider 429: the whole account waits `ms` before its next call. */
  async coolDown(provider: ProviderType, account: string, ms: number): Promise<void> {
    if (ms <= 0) return;
    try {
      await this.scripts.coolDown([this.keys(provider, account).cooldown], [Math.ceil(ms)]);
    } catch (error) {
      this.availability.down(error);
    }
  }

  private keys(provider: ProviderType, account: string) {
    const base = `ratelimit:provider:${provider}:${account}`;
    return { calls: `${base}:calls`, tat: `${base}:tat`, cooldown: `${base}:cooldown`, budget: `${base}:budget` };
  }
}
