import { randomUUID } from 'node:crypto';

import { CanActivate, ExecutionContext, Inject, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Request } from 'express';
import Redis from 'ioredis';

import { BEARER_CHALLENGE, ForbiddenError, TooManyRequestsError, UnauthorizedError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { AvailabilityLog } from '../logging/availability-log';
import { REDIS } from '../redis/redis.module';
import { ApiKeyRole } from './api-key.entity';
import { ApiKeysService } from './api-keys.service';
import { AuthFailureThrottle } from './auth-failure-throttle';
import { BASIC_AUTH_KEY, BASIC_CHALLENGE, Caller, PUBLIC_KEY, ROLES_KEY } from './caller';

// Sliding one-minute window per API key, on Redis's clock so every API replica counts alike.
// Returns {allowed, msUntilASlotFrees}; refused calls are not counted.
const SLIDING_WINDOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2]) + window - now}
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return {1, 0}`;

const BEARER = /^Bearer\s+(\S{1,512})\s*$/i;
const BASIC = /^Basic\s+([A-Za-z0-9+/=]{1,1024})\s*$/i;

/**
 * Authenticates the API key (Bearer; basic auth too on @BasicAuth routes), throttles addresses that
 * keep presenting unknown keys, checks the route's roles and applies the inbound rate limit. Guards
 * run before the body is parsed (JsonBodyInterceptor), so an unauthenticated body is never read.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly rateLimit = new AvailabilityLog(
    new Logger(ApiKeyGuard.name),
    {},
    { down: 'Inbound rate limit skipped: Redis unavailable', up: 'Inbound rate limit applies again' },
  );

  constructor(
    private readonly reflector: Reflector,
    private readonly apiKeys: ApiKeysService,
    private readonly throttle: AuthFailureThrottle,
    private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;

    const request = context.switchToHttp().getRequest<Request & { caller?: Caller }>();
    const basic = this.reflector.getAllAndOverride<boolean>(BASIC_AUTH_KEY, targets) ?? false;
    const challenge = basic ? BASIC_CHALLENGE : BEARER_CHALLENGE;
    const key = presentedKey(request.headers.authorization, basic);
    if (!key) throw new UnauthorizedError(undefined, challenge);

    const address = request.ip ?? 'unknown';
    const waitMs = await this.throttle.waitMs(address);
    if (waitMs > 0) {
      throw new TooManyRequestsError(
        Math.max(1, Math.ceil(waitMs / 1000)),
        'Too many failed authentications from this address',
      );
    }
    const caller = await this.apiKeys.authenticate(key);
    if (!caller) {
      await this.throttle.recordFailure(address);
      throw new UnauthorizedError('The API key is unknown or revoked', challenge);
    }
    request.caller = caller;

    await this.enforceRateLimit(caller.apiKeyId);

    const roles = this.reflector.getAllAndOverride<ApiKeyRole[] | undefined>(ROLES_KEY, targets);
    if (roles && !roles.includes(caller.role))
      throw new ForbiddenError(`This endpoint needs the ${roles.join(' or ')} role`);
    return true;
  }

  private async enforceRateLimit(apiKeyId: string): Promise<void> {
    let allowed: number;
    let waitMs: number;
    try {
      [allowed, waitMs] = (await this.redis.eval(
        SLIDING_WINDOW,
        1,
        `ratelimit:api:${apiKeyId}`,
        60_000,
        this.config.apiRateLimitPerMinute,
        randomUUID(),
      )) as [number, number];
      this.rateLimit.up();
    } catch (error) {
      // Fail open: an outage of Redis must not take the API down with it.
      this.rateLimit.down(error);
      return;
    }
    if (!allowed) throw new TooManyRequestsError(Math.max(1, Math.ceil(waitMs / 1000)));
  }
}

/** The key in `Authorization: Bearer <key>`, or the password of `Basic <user:key>` when basic auth is allowed. */
function presentedKey(authorization: string | undefined, allowBasic: boolean): string | null {
  const bearer = BEARER.exec(authorization ?? '');
  if (bearer) return bearer[1];
  const basic = allowBasic ? BASIC.exec(authorization ?? '') : null;
  if (!basic) return null;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const password = decoded.slice(decoded.indexOf(':') + 1);
  return password && password.length <= 512 ? password : null;
}
