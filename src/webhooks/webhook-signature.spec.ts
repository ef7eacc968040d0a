import { Webhook, WebhookVerificationError } from 'standardwebhooks';

import { newWebhookSecret, webhookHeaders } from './webhook-signature';

// The reference implementation of Standard Webhooks verifies what we sign.
describe('webhookHeaders', () => {
  const body = JSON.stringify({ type: 'routing.completed', timestamp: '2025-12-09T10:00:00.000Z', data: { id: 'r1' } });
  const now = () => Math.floor(Date.now() / 1000);

  it('is verified by the standardwebhooks package', () => {
    const secret = newWebhookSecret();
    const headers = webhookHeaders({ secret, id: 'evt_1', timestamp: now(), body });
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('matches the reference signature byte for byte', () => {
    const secret = newWebhookSecret();
    const at = new Date(Math.floor(Date.now() / 1000) * 1000);
    const ours = webhookHeaders({ secret, id: 'msg_2', timestamp: at.getTime() / 1000, body });
    expect(ours['webhook-signature']).toBe(new Webhook(secret).sign('msg_2', at, body));
  });

  it('fails verification for another secret, another body or another id', () => {
    const secret = newWebhookSecret();
    const headers = webhookHeaders({ secret, id: 'evt_3', timestamp: now(), body });
    expect(() => new Webhook(newWebhookSecret()).verify(body, headers)).toThrow(WebhookVerificationError);
    expect(() => new Webhook(secret).verify(body.replace('r1', 'r2'), headers)).toThrow(WebhookVerificationError);
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'evt_4' })).toThrow(
      WebhookVerificationError,
    );
  });

  it('makes secrets of whsec_ + base64 of 32 random bytes, never the same twice', () => {
    const secret = newWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(secret);
  });
});
