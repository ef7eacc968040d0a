import { createParamDecorator, ExecutionContext } from '@nestjs/common';

import { ApiKeyRole } from '../auth/api-key.entity';
import { Caller } from '../auth/caller';

export const ACTOR_ROLES = ['admin', 'company', 'system'] as const;

/**
 * Who makes a change, as the audit trail records it: the API key of the request (with the request id), or the
 * service itself (`system`). Controllers take it with `@CurrentActor()` and hand it to the service method that
 * makes the change.
 */
export interface Actor {
  apiKeyId: string | null;
  role: ApiKeyRole | 'system';
  companyId: string | null;
  requestId: string | null;
}

export function actorOf(caller: Caller, requestId?: unknown): Actor {
  return {
    apiKeyId: caller.apiKeyId,
    role: caller.role,
    companyId: caller.companyId,
    requestId: requestId == null ? null : String(requestId),
  };
}

/** A change the service makes by itself (a connection found invalid, a provider disconnecting the app). */
export function systemActor(requestId: string | null = null): Actor {
  return { apiKeyId: null, role: 'system', companyId: null, requestId };
}

/** The caller (set by the API key guard) and the request id (set by pino-http) of the current request. */
export const CurrentActor = createParamDecorator((_: unknown, ctx: ExecutionContext): Actor => {
  const req = ctx.switchToHttp().getRequest<{ caller: Caller; id?: unknown }>();
  return actorOf(req.caller, req.id);
});
