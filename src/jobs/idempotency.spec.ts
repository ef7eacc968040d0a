import { canonicalJson, requestFingerprint } from './idempotency';

describe('requestFingerprint', () => {
  const body = {
    summary: 'Fix panel',
    homeowner: { lastName: 'Doe', firstName: 'Jane' },
    targetCompanyIds: ['b', 'a'],
  };

  it('ignores key order and undefined members', () => {
    const reordered = {
      targetCompanyIds: ['b', 'a'],
      homeowner: { firstName: 'Jane', lastName: 'Doe' },
      summary: 'Fix panel',
      trade: undefined,
    };
    expect(requestFingerprint('POST', '/api/jobs', reordered)).toBe(requestFingerprint('POST', '/api/jobs', body));
  });

  it.each([
    ['a changed value', { ...body, summary: 'Fix panel!' }],
    ['a reordered array', { ...body, targetCompanyIds: ['a', 'b'] }],
    ['an added member', { ...body, trade: 'electrical' }],
    ['a number instead of a string', { ...body, summary: 1 }],
  ])('differs for %s', (_, other) => {
    expect(requestFingerprint('POST', '/api/jobs', other)).not.toBe(requestFingerprint('POST', '/api/jobs', body));
  });

  it('differs by path', () => {
    expect(requestFingerprint('POST', '/api/other', body)).not.toBe(requestFingerprint('POST', '/api/jobs', body));
  });

  it('canonicalizes nested values', () => {
    expect(canonicalJson({ b: [1, { d: null, c: true }], a: 'x' })).toBe('{"a":"x","b":[1,{"c":true,"d":null}]}');
  });
});
