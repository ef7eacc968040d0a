import { randomUUID } from 'node:crypto';

import { Inject, Injectable, Logger } from '@nestjs/common';
import Redis from 'ioredis';

import { AppConfig } from '../config/app-config';
import { AvailabilityLog } from '../logging/availability-log';
import { LuaScript, luaScript } from '../redis/lua-script';
import { REDIS } from '../redis/redis.module';

const WINDOW_MS = 60_000;

// Sliding one-minute window of failed authentications per client address (KEYS[1]), on Redis's clock so every
// API replica counts alike. Sets `wait`: how many ms until the address may try again (0: now). ARGV[1] is the
// window, ARGV[2] the limit.
const WAIT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]))
local wait = 0
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  wait = math.max(1, tonumber(oldest[2]) + tonumber(ARGV[1]) - now)
end`;

// An unknown key: the address's wait if it must wait, else the failure is recorded (ARGV[3]: a unique member).
const WAIT_OR_RECORD = `${WAIT}
if wait > 0 then return wait end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
return 0`;

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

  // Run by SHA (EVALSHA), not sent as text with every request.
  private readonly waitOrRecord: LuaScript<unknown>;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly config: AppConfig,
  ) {
    this.waitOrRecord = luaScript(redis, 'authFailureWaitOrRecord', 1, WAIT_OR_RECORD);
  }

  /**
   * An unknown key from `address`: milliseconds until it may authenticate again if it is throttled (the
   * failure is then not counted), else 0 and the failure is counted. One Redis round trip.
   */
  async refuseOrRecordFailure(address: string): Promise<number> {
    const answer = await this.run(this.waitOrRecord, address, [], [randomUUID()]);
    return 'error' in answer ? 0 : Math.max(0, Number(answer.value ?? 0));
  }

  /**
   * A script that, for a known key from an address, answers the address's wait if it is throttled, else runs
   * `then`, in one Redis round trip. `then` is a Lua chunk returning a value: KEYS[2..] are its `numberOfKeys` keys,
   * ARGV[3..] its args (`now`, Redis's clock in ms, is in scope). The script resolves to [waitMs, 0] or
   * [0, what `then` returned], or to the error when Redis could not answer (fail open: the caller skips its own
   * part too). Define it once (at construction): it is registered under `name` and run by SHA.
   */
  unlessThrottled(
    name: string,
    numberOfKeys: number,
    then: string,
  ): (address: string, keys: string[], args: (string | number)[]) => Promise<[number, unknown] | { error: unknown }> {
    const script = luaScript(
      this.redis,
      name,
      1 + numberOfKeys,
      `${WAIT}
if wait > 0 then return {wait, 0} end
return {0, (function() ${then} end)()}`,
    );
    return async (address, keys, args) => {
      const answer = await this.run(script, address, keys, args);
      return 'error' in answer ? answer : (answer.value as [number, unknown]);
    };
  }

  private async run(
    script: LuaScript<unknown>,
    address: string,
    keys: string[],
    args: (string | number)[],
  ): Promise<{ value: unknown } | { error: unknown }> {
    try {
      const value = await script(
        [`authfail:${address}`, ...keys],
        [WINDOW_MS, this.config.authFailureLimitPerMinute, ...args],
      );
      this.availability.up();
      return { value };
    } catch (error) {
      this.availability.down(error);
      return { error };
    }
  }
}
