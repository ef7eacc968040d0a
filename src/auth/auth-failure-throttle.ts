import { randomUUID } from 'node:crypto';

import { Inject, Injectable, Logger } from '@nestjs/common';
import Redis from 'ioredis';

import { AppConfig } from '../config/app-config';
import { AvailabilityLog } from '../logging/availability-log';
import { REDIS } from '../redis/redis.module';

const WINDOW_MS = 60_000;

// Sliding one-minute window of failed authentications per client address, on Redis's clock so every
// API replica counts alike. Returns how many ms until the address may try again (0: now).
const WAIT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]))
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then return 0 end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tonumber(oldest[2]) + tonumber(ARGV[1]) - now`;

const RECORD = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
return 1`;

/**
 * Throttles guessing: an address that presented AUTH_FAILURE_LIMIT_PER_MINUTE unknown keys within a
 * minute gets 429 for every request that needs a key, a right key included (otherwise guessing would
 * go on at full speed, only with another status code), until its oldest failure leaves the window.
 * Shared through Redis; if Redis cannot answer, authentication goes on unthrottled (fail open).
 */
@Injectable()
export class AuthFailureThrottle {
  private readonly availability = new AvailabilityLog(
    new Logger(AuthFailureThrottle.name),
    {},
    {
      down: 'Failed-authentication throttle unavailable (Redis): authentication proceeds unthrottled',
      up: 'Failed-authentication throttle available again',
    },
  );

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly config: AppConfig,
  ) {}

  /** Milliseconds until this address may authenticate again; 0 when it may now. */
  async waitMs(address: string): Promise<number> {
    const waitMs = await this.run(WAIT, address, this.config.authFailureLimitPerMinute);
    return Math.max(0, Number(waitMs ?? 0));
  }

  async recordFailure(address: string): Promise<void> {
    await this.run(RECORD, address, randomUUID());
  }

  private async run(script: string, address: string, arg: string | number): Promise<unknown> {
    try {
      const result = await this.redis.eval(script, 1, `authfail:${address}`, WINDOW_MS, arg);
      this.availability.up();
      return result;
    } catch (error) {
      this.availability.down(error);
      return null;
    }
  }
}
