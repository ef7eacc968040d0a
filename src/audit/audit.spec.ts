import { REDACTED, changesBetween, redactChanges } from './audit';

describe('changesBetween', () => {
  it.each([
    [
      'created: every field from null',
      null,
      { name: 'A', trades: [] },
      { name: { old: null, new: 'A' }, trades: { old: null, new: [] } },
    ],
    ['deleted: every field to null', { url: 'https://x' }, null, { url: { old: 'https://x', new: null } }],
    [
      'only the fields that differ',
      { name: 'A', isActive: true },
      { name: 'B', isActive: true },
      { name: { old: 'A', new: 'B' } },
    ],
    ['arrays by value', { trades: ['a', 'b'] }, { trades: ['a', 'b'] }, {}],
    [
      'array order matters',
      { trades: ['a', 'b'] },
      { trades: ['b', 'a'] },
      { trades: { old: ['a', 'b'], new: ['b', 'a'] } },
    ],
    ['undefined is null', { email: undefined }, { email: null }, {}],
    [
      'a Date equals its ISO string',
      { at: new Date('2025-01-02T03:04:05.678Z') },
      { at: '2025-01-02T03:04:05.678Z' },
      {},
    ],
    [
      'a Date is stored as its ISO string',
      { revokedAt: null },
      { revokedAt: new Date('2025-01-02T03:04:05.678Z') },
      { revokedAt: { old: null, new: '2025-01-02T03:04:05.678Z' } },
    ],
    ['a field only on one side', { a: 1 }, { b: 2 }, { a: { old: 1, new: null }, b: { old: null, new: 2 } }],
  ])('%s', (_, before, after, expected) => {
    expect(changesBetween(before, after)).toEqual(expected);
  });
});

describe('redactChanges', () => {
  it.each([
    ['credentials', { credentials: { old: 'v1', new: 'v2' } }, { credentials: { old: REDACTED, new: REDACTED } }],
    [
      'a nested path by its last name',
      { 'provider.credentials': { old: null, new: { apiKey: 'k' } } },
      { 'provider.credentials': { old: null, new: REDACTED } },
    ],
    [
      'removed: null stays null',
      { webhookToken: { old: 'tok', new: null } },
      { webhookToken: { old: REDACTED, new: null } },
    ],
    [
      'keys, tokens, secrets, passwords',
      {
        key: { old: null, new: 'te_x' },
        apiKey: { old: 'a', new: 'b' },
        clientSecret: { old: null, new: 's' },
        accessToken: { old: null, new: 't' },
        password: { old: null, new: 'p' },
      },
      {
        key: { old: null, new: REDACTED },
        apiKey: { old: REDACTED, new: REDACTED },
        clientSecret: { old: null, new: REDACTED },
        accessToken: { old: null, new: REDACTED },
        password: { old: null, new: REDACTED },
      },
    ],
    [
      'at any depth inside a value',
      {
        data: { old: null, new: { routingId: 'r', auth: { refreshToken: 'rt', user: 'u' }, list: [{ secret: 's' }] } },
      },
      {
        data: {
          old: null,
          new: { routingId: 'r', auth: { refreshToken: REDACTED, user: 'u' }, list: [{ secret: REDACTED }] },
        },
      },
    ],
    [
      'names that only contain "key" are kept',
      { keyPrefix: { old: null, new: 'te_AbCdEfG' }, apiKeyId: { old: null, new: 'id' } },
      { keyPrefix: { old: null, new: 'te_AbCdEfG' }, apiKeyId: { old: null, new: 'id' } },
    ],
    ['other fields untouched', { name: { old: 'A', new: 'B' } }, { name: { old: 'A', new: 'B' } }],
  ])('%s', (_, changes, expected) => {
    expect(redactChanges(changes)).toEqual(expected);
  });
});
