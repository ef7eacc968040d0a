import { createHmac, randomBytes } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';

/** A new endpoint secret: `whsec_` + base64 of 32 random bytes (Standard Webhooks asks for 24 to 64). */
export function newWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

/**
 * The Standard Webhooks headers of one attempt: `webhook-signature` is `v1,` + base64 HMAC-SHA256, keyed by the
 * secret's decoded bytes, of `{id}.{timestamp}.{body}`. The id is the event's, the same on every retry.
 */
export function webhookHeaders(params: {
  secret: string;
  id: string;
  timestamp: number;
  body: string;
}): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  const key = Buffer.from(params.secret.slice(SECRET_PREFIX.length), 'base64');
  const signature = createHmac('sha256', key)
    .update(`${params.id}.${params.timestamp}.${params.body}`)
    .digest('base64');
  return {
    'webhook-id': params.id,
    'webhook-timestamp': String(params.timestamp),
    'webhook-signature': `v1,${signature}`,
  };
}
