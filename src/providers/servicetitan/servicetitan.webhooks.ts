import type { ProviderWebhooks, WebhookEvent } from '../provider-definition';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const idOf = (v: unknown): string | null =>
  (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) || (typeof v === 'string' && /^\d{1,18}$/.test(v))
    ? String(v)
    : null;

/**
 * ServiceTitan V2 webhooks. Their payload is unconfirmed (providers.md 1.6); SPEC section 10 accepts
 * `{ eventId, eventType, tenantId, createdOn, data: { id, jobId?, bookingId? } }`, sent to the connection's own URL
 * (its secret token authenticates it). The routing is found by `bookingId` (what a routing tracks), else by the
 * job (`jobId`, or `data.id` of a `Job.*` event), whose booking ServiceTitan tells (findReferralIds), else by
 * `data.id` of a `Booking.*` event. Other event types are ignored.
 */
export const serviceTitanWebhooks: ProviderWebhooks = {
  receiver: 'connection',
  parse(body): WebhookEvent[] {
    if (!isObject(body)) return [{ kind: 'ignored', topic: 'unknown' }];
    const type = typeof body.eventType === 'string' ? body.eventType : null;
    const data = isObject(body.data) ? body.data : null;
    const kind = type && /^(Booking|Job)\./.exec(type)?.[1];
    if (!type || !kind || !data) return [{ kind: 'ignored', topic: type ?? 'unknown' }];
    const bookingId = idOf(data.bookingId);
    const jobId = idOf(data.jobId) ?? (kind === 'Job' ? idOf(data.id) : null);
    const record = bookingId
      ? { externalId: bookingId }
      : jobId
        ? { item: { type: 'job', id: jobId } }
        : kind === 'Booking' && idOf(data.id)
          ? { externalId: idOf(data.id)! }
          : null;
    if (!record) return [{ kind: 'ignored', topic: type }];
    const eventId = typeof body.eventId === 'string' || typeof body.eventId === 'number' ? String(body.eventId) : '';
    const createdOn = typeof body.createdOn === 'string' ? body.createdOn : '';
    // ServiceTitan retries an event with its eventId; without one, the event's own fields tell it apart.
    const key = eventId || `${type}:${bookingId ?? jobId ?? idOf(data.id)}:${createdOn}`;
    return [{ kind: 'changed', topic: type, key, record }];
  },
};
