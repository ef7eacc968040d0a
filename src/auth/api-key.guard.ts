import { randomUUID } from 'node:crypto';

import { CanActivate, ExecutionContext, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Request } from 'express';

import { BEARER_CHALLENGE, ForbiddenError, TooManyRequestsError, UnauthorizedError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { AvailabilityLog } from '../logging/availability-log';
import { ApiKeyRole } from './api-key.entity';
import { ApiKeysService } from './api-keys.service';
import { AuthFailureThrottle } from './auth-failure-throttle';
import { BASIC_AUTH_KEY, BASIC_CHALLENGE, Caller, PUBLIC_KEY, ROLES_KEY } from './caller';

// Sliding one-minute window per API key (KEYS[2]), on Redis's clock so every API replica counts alike; runs after
// the failed-authentication throttle's check in the same script (AuthFailureThrottle.unlessThrottled), with its `now`.
// ARGV[3] window, ARGV[4] limit, ARGV[5] a unique member. Returns {allowed, msUntilASlotFrees}; refused calls are
// not counted.
const SLIDING_WINDOW = `
local window = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2]) + window - now}
end
redis.call('ZADD', KEYS[2], now, ARGV[5])
redis.call('PEXPIRE', KEYS[2], window)
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

  private readonly admitScript: ReturnType<AuthFailureThrottle['unlessThrottled']>;

  constructor(
    private readonly reflector: Reflector,
    private readonly apiKeys: ApiKeysService,
    private readonly throttle: AuthFailureThrottle,
    private readonly config: AppConfig,
  ) {
    this.admitScript = throttle.unlessThrottled('apiKeyAdmit', 1, SLIDING_WINDOW);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;

    const request = context.switchToHttp().getRequest<Request & { caller?: Caller }>();
    const basic = this.reflector.getAllAndOverride<boolean>(BASIC_AUTH_KEY, targets) ?? false;
    const challenge = basic ? BASIC_CHALLENGE : BEARER_CHALLENGE;
    const key = presentedKey(request.headers.authorization, basic);
    if (!key) throw new UnauthorizedError(undefined, challenge);

    // The key is looked up first, so that the throttle and the rate limit cost one Redis round trip together.
    const address = request.ip ?? 'unknown';
    const caller = await this.apiKeys.authenticate(key);
    if (!caller) {
      const waitMs = await this.throttle.refuseOrRecordFailure(address);
      if (waitMs > 0) throw throttled(waitMs);
      throw new UnauthorizedError('The API key is unknown or revoked', challenge);
    }
    await this.admit(address, caller.apiKeyId);
    request.caller = caller;

    const roles = this.reflector.getAllAndOverride<ApiKeyRole[] | undefined>(ROLES_KEY, targets);
    if (roles && !roles.includes(caller.role))
      throw new ForbiddenError(`This endpoint needs the ${roles.join(' or ')} role`);
    return true;
  }

  /** A throttled address gets 429, its right keys included; then the key's inbound rate limit applies. */
  private async admit(address: string, apiKeyId: string): Promise<void> {
    const answer = await this.admitScript(
      address,
      [`ratelimit:api:${apiKeyId}`],
      [60_000, this.config.apiRateLimitPerMinute, randomUUID()],
    );
    if ('error' in answer) {
      // Fail open: an outage of Redis must not take the API down with it.
      this.rateLimit.down(answer.error);
      return;
    }
    this.rateLimit.up();
    const [waitMs, limited] = answer;
    if (waitMs > 0) throw throttled(waitMs);
    const [allowed, slotMs] = limited as [number, number];
    if (!allowed) throw new TooManyRequestsError(Math.max(1, Math.ceil(slotMs / 1000)));
  }
}

function throttled(waitMs: number): TooManyRequestsError {
  return new TooManyRequestsError(
    Math.max(1, Math.ceil(waitMs / 1000)),
    'Too many failed authentications from this address',
  );
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
