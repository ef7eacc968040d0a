import { createHmac } from 'node:crypto';

import { jobberWebhooks } from './jobber.webhooks';

const settings = { clientSecret: 'app-client-secret' };
const event = (topic: string, extra: Record<string, unknown> = {}) => ({
  data: {
    webHookEvent: { topic, appId: 'QXBw', accountId: 'QWNjb3VudDox', itemId: 'UmVxdWVzdDox', ...extra },
  },
});

describe('jobberWebhooks.verify', () => {
  const body = Buffer.from(JSON.stringify(event('REQUEST_UPDATE', { occurredAt: '2025-12-09T10:00:00-06:00' })));
  const sign = (raw: Buffer, secret = settings.clientSecret) =>
    createHmac('sha256', secret).update(raw).digest('base64');

  it('accepts base64 HMAC-SHA256 of the raw body keyed by the client secret', () => {
    expect(jobberWebhooks.verify!({ rawBody: body, headers: { 'x-jobber-hmac-sha256': sign(body) }, settings })).toBe(
      true,
    );
  });

  it.each([
    ['no header', {}],
    ['another secret', { 'x-jobber-hmac-sha256': sign(body, 'other') }],
    ['a signature of other bytes', { 'x-jobber-hmac-sha256': sign(Buffer.from(`${body.toString()} `)) }],
    [
      'a hex signature',
      { 'x-jobber-hmac-sha256': createHmac('sha256', settings.clientSecret).update(body).digest('hex') },
    ],
    ['garbage', { 'x-jobber-hmac-sha256': '!!!' }],
    ['two headers', { 'x-jobber-hmac-sha256': [sign(body), sign(body)] }],
  ])('refuses %s', (_, headers) => {
    expect(jobberWebhooks.verify!({ rawBody: body, headers, settings })).toBe(false);
  });

  it('refuses everything when no client secret is configured', () => {
    const headers = { 'x-jobber-hmac-sha256': createHmac('sha256', '').update(body).digest('base64') };
    expect(jobberWebhooks.verify!({ rawBody: body, headers, settings: { clientSecret: '' } })).toBe(false);
  });
});

describe('jobberWebhooks.parse', () => {
  it('REQUEST_* names the request a routing tracks', () => {
    expect(jobberWebhooks.parse(event('REQUEST_UPDATE', { occurredAt: 't1' }))).toEqual([
      {
        kind: 'changed',
        topic: 'REQUEST_UPDATE',
        key: 'REQUEST_UPDATE:UmVxdWVzdDox:t1',
        accountId: 'QWNjb3VudDox',
        record: { externalId: 'UmVxdWVzdDox' },
      },
    ]);
  });

  it.each([
    ['JOB_UPDATE', 'job'],
    ['JOB_CREATE', 'job'],
    ['VISIT_COMPLETE', 'visit'],
    ['VISIT_UPDATE', 'visit'],
    ['INVOICE_CREATE', 'invoice'],
  ])('%s is an item the provider maps to its request', (topic, type) => {
    const [parsed] = jobberWebhooks.parse(event(topic, { itemId: 'SXRlbTox', occuredAt: 'old-apps-spelling' }));
    expect(parsed).toEqual({
      kind: 'changed',
      topic,
      key: `${topic}:SXRlbTox:old-apps-spelling`,
      accountId: 'QWNjb3VudDox',
      record: { item: { type, id: 'SXRlbTox' } },
    });
  });

  it('APP_DISCONNECT disconnects the account', () => {
    expect(jobberWebhooks.parse(event('APP_DISCONNECT', { itemId: 'QWNjb3VudDox' }))[0]).toMatchObject({
      kind: 'disconnected',
      accountId: 'QWNjb3VudDox',
    });
  });

  it.each([
    ['another topic', event('CLIENT_CREATE')],
    ['no account', event('REQUEST_UPDATE', { accountId: undefined })],
    ['no item', event('REQUEST_UPDATE', { itemId: 7 })],
    ['another shape', { topic: 'REQUEST_UPDATE' }],
    ['an array', []],
    ['null', null],
  ])('ignores %s', (_, body) => {
    expect(jobberWebhooks.parse(body)).toEqual([{ kind: 'ignored', topic: expect.any(String) }]);
  });
});
