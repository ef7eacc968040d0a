import { createHmac, timingSafeEqual } from 'node:crypto';

import type { ProviderWebhooks, WebhookEvent } from '../provider-definition';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What the webhook part needs of the Jobber settings: the app's OAuth client secret signs its webhooks. */
export interface JobberWebhookSettings {
  clientSecret: string;
}

// Topics whose item is the request a routing tracks, and those whose item the provider maps to its request.
const RECORD_TOPIC = /^REQUEST_/;
const ITEM_TOPIC = /^(JOB|VISIT|INVOICE)_/;

/**
 * Jobber's app-level webhooks (providers.md 3.6), on `POST /api/webhooks/jobber` for every account that installed
 * the app: `{ data: { webHookEvent: { topic, appId, accountId, itemId, occurredAt } } }` (`occuredAt` for apps made
 * before 2023-12-08), signed `X-Jobber-Hmac-SHA256` = base64 HMAC-SHA256 of the raw body keyed by the app's client
 * secret. `accountId` finds the connection. REQUEST_* items are the request a routing tracks; JOB_*, VISIT_* and
 * INVOICE_* items are mapped to their request by JobberProvider.findReferralIds.
 * APP_DISCONNECT makes the account's connections invalid.
 */
export const jobberWebhooks: ProviderWebhooks<JobberWebhookSettings> = {
  receiver: 'app',
  verify({ rawBody, headers, settings }): boolean {
    const given = headers['x-jobber-hmac-sha256'];
    if (typeof given !== 'string' || !settings?.clientSecret) return false;
    const expected = createHmac('sha256', settings.clientSecret).update(rawBody).digest();
    const actual = Buffer.from(given, 'base64');
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  },
  parse(body): WebhookEvent[] {
    const event = isObject(body) && isObject(body.data) ? body.data.webHookEvent : null;
    const topic = isObject(event) && typeof event.topic === 'string' ? event.topic : null;
    if (!isObject(event) || !topic) return [{ kind: 'ignored', topic: 'unknown' }];
    const { accountId, itemId } = event;
    if (typeof accountId !== 'string' || !accountId || typeof itemId !== 'string' || !itemId) {
      return [{ kind: 'ignored', topic }];
    }
    const occurredAt = event.occurredAt ?? event.occuredAt;
    // Delivery is at least once: the same event comes back with the same topic, item and time.
    const key = `${topic}:${itemId}:${typeof occurredAt === 'string' ? occurredAt : ''}`;
    if (topic === 'APP_DISCONNECT') return [{ kind: 'disconnected', topic, key, accountId }];
    if (RECORD_TOPIC.test(topic)) return [{ kind: 'changed', topic, key, accountId, record: { externalId: itemId } }];
    const item = ITEM_TOPIC.exec(topic)?.[1];
    if (item) {
      return [{ kind: 'changed', topic, key, accountId, record: { item: { type: item.toLowerCase(), id: itemId } } }];
    }
    return [{ kind: 'ignored', topic }];
  },
};
