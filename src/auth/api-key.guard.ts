import { randomUUID } from 'node:crypto';

import { CanActivate, ExecutionContext, Inject, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import Redis from 'ioredis';

import { ForbiddenError, TooManyRequestsError, UnauthorizedError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { REDIS } from '../redis/redis.module';
import { ApiKeyRole } from './api-key.entity';
import { ApiKeysService } from './api-keys.service';
import { Caller, PUBLIC_KEY, ROLES_KEY } from './caller';

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

/** Authenticates the Bearer API key, checks the route's roles and applies the inbound rate limit. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly logger = new Logger(ApiKeyGuard.name);

  constructor(
    private readonly reflector: Reflector,
    private readonly apiKeys: ApiKeysService,
    private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;

    const request = context
      .switchToHttp()
      .getRequest<{ headers: Record<string, string | undefined>; caller?: Caller }>();
    const match = /^Bearer\s+(\S{1,512})\s*$/i.exec(request.headers.authorization ?? '');
    if (!match) throw new UnauthorizedError();
    const caller = await this.apiKeys.authenticate(match[1]);
    if (!caller) throw new UnauthorizedError('The API key is unknown or revoked');
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
    } catch (error) {
      // Fail open: an outage of Redis must not take the API down with it.
      this.logger.warn({ err: (error as Error).message }, 'Inbound rate limit skipped: Redis unavailable');
      return;
    }
    if (!allowed) throw new TooManyRequestsError(Math.max(1, Math.ceil(waitMs / 1000)));
  }
}
