import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';

import { ApiKeyRole } from './api-key.entity';

/** Who is calling: resolved from the API key by the guard. */
export interface Caller {
  apiKeyId: string;
  role: ApiKeyRole;
  companyId: string | null;
}

export const ROLES_KEY = 'roles';
/** Restricts a route to these roles (default: any valid key). */
export const Roles = (...roles: ApiKeyRole[]) => SetMetadata(ROLES_KEY, roles);

export const PUBLIC_KEY = 'public';
/** No API key needed (health, metrics). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

export const BASIC_AUTH_KEY = 'basic-auth';
export const BASIC_CHALLENGE = 'Basic realm="TradeEngage queues", charset="UTF-8"';
/**
 * Also accepts HTTP basic auth with the API key as the password (any user name), for pages a person
 * opens in a browser; a 401 then challenges for it, so the browser asks.
 */
export const BasicAuth = () => SetMetadata(BASIC_AUTH_KEY, true);

export const CurrentCaller = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Caller => ctx.switchToHttp().getRequest<{ caller: Caller }>().caller,
);
