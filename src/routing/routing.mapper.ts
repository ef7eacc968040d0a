import { RoutingEventResponse, RoutingResponse } from './dto/routing.response';
import { RoutingEvent } from './routing-event.entity';
import { Routing } from './routing.entity';

export function toRoutingResponse(r: Routing): RoutingResponse {
  return {
    id: r.id,
    jobId: r.jobId,
    companyId: r.companyId,
    connectionId: r.connectionId,
    providerType: r.providerType,
    status: r.status,
    externalId: r.externalId,
    providerStatus: r.providerStatus,
    providerStatusRaw: r.providerStatusRaw,
    attempts: r.attempts,
    nextRetryAt: r.nextRetryAt,
    lastError: r.lastError,
    syncedAt: r.syncedAt,
    lastPolledAt: r.lastPolledAt,
    completedAt: r.completedAt,
    revenueCents: r.revenueCents,
    currency: r.currency,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

export function toEventResponse(e: RoutingEvent): RoutingEventResponse {
  return {
    at: e.at,
    type: e.type,
    outcome: e.outcome,
    ...(e.httpStatus !== null ? { httpStatus: e.httpStatus } : {}),
    ...(e.durationMs !== null ? { durationMs: e.durationMs } : {}),
    ...(e.message !== null ? { message: e.message } : {}),
  };
}
