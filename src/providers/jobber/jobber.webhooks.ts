import { createHmac, timingSafeEqual } from 'node:crypto';

import type { ProviderWebhooks, WebhookEvent, WebhookItem } from '../provider-definition';

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
 * INVOICE_* items are mapped to their request by the Jobber strategy's `findReferralIds` (see `referralLookup`).
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

/**
 * The hook for JOB_*, VISIT_* and INVOICE_* webhooks: one GraphQL document (valid against the 2022-03-10 schema)
 * that reads, for each item, the request it belongs to. The Jobber strategy's `findReferralIds` sends it through its
 * GraphQL client and maps the answer with `readReferralIds`.
 */
export function referralLookup(items: WebhookItem[]): { query: string; variables: Record<string, string> } {
  const fields = items.map((item, i) => {
    switch (item.type) {
      case 'job':
        return `i${i}: job(id: $i${i}) { request { id } }`;
      case 'visit':
        return `i${i}: visit(id: $i${i}) { job { request { id } } }`;
      case 'invoice':
        return `i${i}: invoice(id: $i${i}) { jobs(first: 1) { nodes { request { id } } } }`;
      default:
        throw new Error(`Jobber has no webhook item type ${item.type}`);
    }
  });
  const params = items.map((_, i) => `$i${i}: EncodedId!`).join(', ');
  return {
    query: `query ReferralsOfWebhookItems(${params}) { ${fields.join(' ')} }`,
    variables: Object.fromEntries(items.map((item, i) => [`i${i}`, item.id])),
  };
}

interface RequestRef {
  request?: { id?: string } | null;
}

/** The request id of each item in the answer to `referralLookup` (null: no such item, or no request). */
export function readReferralIds(data: Record<string, unknown>, items: WebhookItem[]): (string | null)[] {
  return items.map((item, i) => {
    const node = data[`i${i}`] as Record<string, unknown> | null | undefined;
    if (!node) return null;
    const job = (
      item.type === 'job'
        ? node
        : item.type === 'visit'
          ? node.job
          : (node.jobs as { nodes?: unknown[] } | undefined)?.nodes?.[0]
    ) as RequestRef | null | undefined;
    return job?.request?.id ?? null;
  });
}
