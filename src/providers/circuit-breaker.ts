import { Inject, Injectable, Logger } from '@nestjs/common';
import Redis from 'ioredis';

import { AppConfig } from '../config/app-config';
import { AvailabilityLog } from '../logging/availability-log';
import { LuaScript, luaScript } from '../redis/lua-script';
import { REDIS } from '../redis/redis.module';

export type CircuitPermit = { allowed: true; probe: boolean } | { allowed: false; retryAt: Date };

export interface OpenCircuit {
  connectionId: string;
  provider?: string;
  /** `open` until `until`; `half_open` once `until` has passed (the next call is the probe). */
  state: 'open' | 'half_open';
  until: Date;
}

const CIRCUITS_KEY = 'circuits:open';
const circuitKey = (connectionId: string) => `circuit:${connectionId}`;
// A circuit's record outlives its open period by a day, so a closed one's failure count does not linger forever.
const RECORD_TTL_MS = 86_400_000;

// Every script reads the clock of Redis, so all processes agree on when a circuit reopens.
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * Returns {allowed, retryAt or 0, probe, provider}. Closed: allowed. Open: refused until openUntil.
 * Half-open: the first caller takes the probe lease (probeUntil) and is allowed; everyone else is
 * refused until the lease ends, so across all processes exactly one probe is in flight. A probe whose
 * process died without reporting frees the slot when its lease ends.
 */
const PERMIT = `${NOW}
local s = redis.call('HMGET', KEYS[1], 'openUntil', 'probeUntil', 'provider')
local openUntil = tonumber(s[1]) or 0
local provider = s[3] or ''
if openUntil == 0 then return {1, 0, 0, provider} end
if now < openUntil then return {0, openUntil, 0, provider} end
local probeUntil = tonumber(s[2]) or 0
if probeUntil > now then return {0, probeUntil, 0, provider} end
redis.call('HSET', KEYS[1], 'probeUntil', now + tonumber(ARGV[1]))
return {1, 0, 1, provider}`;

/**
 * Returns {transition, openUntil}: 0 nothing changed, 1 opened (the threshold was reached), 2 opened
 * again (a failure while half-open: the probe failed). A failure while open is a call that started
 * before the circuit opened: it changes nothing.
 */
const RECORD_FAILURE = `${NOW}
local threshold, openMs, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[5])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'provider', ARGV[4]) end
local openUntil = tonumber(redis.call('HGET', KEYS[1], 'openUntil')) or 0
local transition = 0
if openUntil ~= 0 then
  if now < openUntil then return {0, openUntil} end
  transition = 2
else
  local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
  if failures >= threshold then transition = 1 end
end
if transition ~= 0 then
  openUntil = now + openMs
  redis.call('HSET', KEYS[1], 'openUntil', openUntil, 'probeUntil', 0, 'failures', 0)
  redis.call('ZADD', KEYS[2], openUntil, ARGV[3])
end
redis.call('PEXPIRE', KEYS[1], openMs + ttl)
return {transition, openUntil}`;

/** Closes the circuit; returns {1, provider} when it was open or half-open, {0, ''} when it was closed already. */
const RECORD_SUCCESS = `
local s = redis.call('HMGET', KEYS[1], 'openUntil', 'provider')
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if (tonumber(s[1]) or 0) ~= 0 then return {1, s[2] or ''} end
return {0, ''}`;

/** Returns {now, id, provider, openUntil, id, provider, openUntil, ...}, dropping entries whose circuit closed or expired. */
const OPEN_CIRCUITS = `${NOW}
local out = {now}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local s = redis.call('HMGET', ARGV[1] .. id, 'openUntil', 'provider')
  local openUntil = tonumber(s[1]) or 0
  if openUntil == 0 then
    redis.call('ZREM', KEYS[1], id)
  else
    out[#out + 1] = id
    out[#out + 1] = s[2] or ''
    out[#out + 1] = openUntil
  end
end
return out`;

/**
 * The circuit breaker of SPEC section 6, one circuit per provider connection, shared by every process
 * through Redis: CIRCUIT_FAILURE_THRESHOLD consecutive retryable failures open it for CIRCUIT_OPEN_MS;
 * while open no call is made; then exactly one probe is let through (half-open); its success closes
 * the circuit, its failure opens it again. Each transition is logged once, by the process that made it.
 *
 * The state lives in Redis (atomic Lua on Redis's clock) rather than in an in-process library such
 * as opossum or cockatiel, whose circuits are per process: with N workers a dead connection would
 * take N times the failures to trip, and each worker would send its own probe.
 *
 * If Redis cannot answer, calls are allowed (fail open, like the rate limiter): a provider outage
 * during a Redis outage costs retries, never a stopped pipeline.
 */
@Injectable()
export class CircuitBreaker {
  private readonly logger = new Logger(CircuitBreaker.name);
  private readonly availability = new AvailabilityLog(
    this.logger,
    {},
    {
      down: 'Circuit breaker unavailable (Redis): provider calls proceed unchecked',
      up: 'Circuit breaker available again',
    },
  );

  // Run by SHA (EVALSHA) on every call's path: the script text is not sent each time.
  private readonly scripts: { permit: LuaScript<unknown>; success: LuaScript<unknown>; failure: LuaScript<unknown> };

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly config: AppConfig,
  ) {
    this.scripts = {
      permit: luaScript(redis, 'circuitPermit', 1, PERMIT),
      success: luaScript(redis, 'circuitRecordSuccess', 2, RECORD_SUCCESS),
      failure: luaScript(redis, 'circuitRecordFailure', 2, RECORD_FAILURE),
    };
  }

  /** May a call to this connection go now? `probe` marks the one call that tests a half-open circuit. */
  async permit(connectionId: string): Promise<CircuitPermit> {
    const result = await this.run<[number, number, number, string]>(
      this.scripts.permit,
      [circuitKey(connectionId)],
      [this.config.circuit.openMs],
    );
    if (!result) return { allowed: true, probe: false };
    const [allowed, retryAt, probe, provider] = result;
    if (!allowed) return { allowed: false, retryAt: new Date(retryAt) };
    if (probe) {
      this.logger.log(
        { connectionId, provider: provider || undefined },
        'Provider circuit half-open: one probe call let through',
      );
    }
    return { allowed: true, probe: probe === 1 };
  }

  /** A call succeeded: the circuit closes (and its failure count starts again). */
  async recordSuccess(connectionId: string): Promise<void> {
    const result = await this.run<[number, string]>(
      this.scripts.success,
      [circuitKey(connectionId), CIRCUITS_KEY],
      [connectionId],
    );
    if (result?.[0] === 1) {
      this.logger.log({ connectionId, provider: result[1] || undefined }, 'Provider circuit closed');
    }
  }

  /** A call failed with a retryable error (network, timeout, 5xx); permanent errors say nothing about availability. */
  async recordFailure(connectionId: string, provider?: string): Promise<void> {
    const { failureThreshold, openMs } = this.config.circuit;
    const result = await this.run<[number, number]>(
      this.scripts.failure,
      [circuitKey(connectionId), CIRCUITS_KEY],
      [failureThreshold, openMs, connectionId, provider ?? '', RECORD_TTL_MS],
    );
    if (!result || result[0] === 0) return;
    const fields = { connectionId, provider, openUntil: new Date(result[1]).toISOString() };
    if (result[0] === 1) {
      this.logger.warn(
        { ...fields, failures: failureThreshold },
        'Provider circuit opened: no calls to this connection until it reopens',
      );
    } else {
      this.logger.warn(fields, 'Provider circuit probe failed: open again');
    }
  }

  /** Every circuit not closed, for health and metrics. Throws when Redis cannot answer (callers report that). */
  async openCircuits(): Promise<OpenCircuit[]> {
    const [now, ...rest] = (await this.redis.eval(OPEN_CIRCUITS, 1, CIRCUITS_KEY, circuitKey(''))) as (
      string | number
    )[];
    const circuits: OpenCircuit[] = [];
    for (let i = 0; i + 2 < rest.length; i += 3) {
      const until = Number(rest[i + 2]);
      circuits.push({
        connectionId: String(rest[i]),
        provider: rest[i + 1] ? String(rest[i + 1]) : undefined,
        state: Number(now) < until ? 'open' : 'half_open',
        until: new Date(until),
      });
    }
    return circuits;
  }

  private async run<T>(script: LuaScript<unknown>, keys: string[], args: (string | number)[]): Promise<T | null> {
    try {
      const result = (await script(keys, args)) as T;
      this.availability.up();
      return result;
    } catch (error) {
      this.availability.down(error);
      return null;
    }
  }
}
