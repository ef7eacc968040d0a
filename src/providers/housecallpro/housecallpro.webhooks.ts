import type { ProviderWebhooks, WebhookEvent } from '../provider-definition';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Housecall Pro webhooks (providers.md 2.6): `{ event: "job.completed", company_id, job: { id, updated_at, ... } }`,
 * subscribed per company to the connection's own URL. HCP's signing scheme is unconfirmed, so the URL's secret token
 * authenticates them. Every `job.*` event names the job a routing tracks; other events are ignored.
 */
export const housecallProWebhooks: ProviderWebhooks = {
  receiver: 'connection',
  parse(body): WebhookEvent[] {
    const event = isObject(body) && typeof body.event === 'string' ? body.event : null;
    const job = isObject(body) && isObject(body.job) ? body.job : null;
    if (!event?.startsWith('job.') || typeof job?.id !== 'string' || !job.id) {
      return [{ kind: 'ignored', topic: event ?? 'unknown' }];
    }
    // A redelivery carries the same job version; another change of the job has another updated_at.
    const version = typeof job.updated_at === 'string' ? job.updated_at : '';
    return [{ kind: 'changed', topic: event, key: `${event}:${job.id}:${version}`, record: { externalId: job.id } }];
  },
};
