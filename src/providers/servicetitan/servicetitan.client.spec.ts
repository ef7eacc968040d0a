import { ServiceTitanTokenCache } from './servicetitan.client';

describe('ServiceTitanTokenCache', () => {
  let now: number;
  let issued: number;
  let cache: ServiceTitanTokenCache;
  const issue = (expiresInSeconds: number) => async () => {
    issued++;
    return { accessToken: `token-${issued}`, expiresInSeconds };
  };

  beforeEach(() => {
    now = 1_000_000;
    issued = 0;
    cache = new ServiceTitanTokenCache(() => now);
  });

  it('reuses a token until 60 s before a 900 s expiry', async () => {
    expect(await cache.get('k', issue(900))).toBe('token-1');
    now += 839_999;
    expect(await cache.get('k', issue(900))).toBe('token-1');
    now += 1;
    expect(await cache.get('k', issue(900))).toBe('token-2');
  });

  it('renews short-lived tokens 10% early', async () => {
    await cache.get('k', issue(2));
    now += 1_799;
    expect(await cache.get('k', issue(2))).toBe('token-1');
    now += 1;
    expect(await cache.get('k', issue(2))).toBe('token-2');
  });

  it('shares one in-flight request between concurrent callers', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = async () => {
      issued++;
      await gate;
      return { accessToken: 'shared', expiresInSeconds: 900 };
    };
    const calls = Array.from({ length: 20 }, () => cache.get('k', slow));
    release();
    expect(await Promise.all(calls)).toEqual(Array(20).fill('shared'));
    expect(issued).toBe(1);
  });

  it('keeps keys apart', async () => {
    await cache.get('a', issue(900));
    await cache.get('b', issue(900));
    expect(issued).toBe(2);
  });

  it('does not cache a failed request', async () => {
    await expect(cache.get('k', async () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.get('k', issue(900))).toBe('token-1');
  });

  it('invalidates only the token that was rejected', async () => {
    await cache.get('k', issue(900));
    cache.invalidate('k', 'token-old');
    expect(await cache.get('k', issue(900))).toBe('token-1');
    cache.invalidate('k', 'token-1');
    expect(await cache.get('k', issue(900))).toBe('token-2');
  });

  it('keys by tenant, client id and a hash of the secret, never the secret itself', () => {
    const credentials = { tenantId: '1', clientId: 'cid', clientSecret: 'very-secret', bookingProviderId: '2' };
    const key = ServiceTitanTokenCache.keyFor(credentials);
    expect(key).toMatch(/^1:cid:[0-9a-f]{16}$/);
    expect(key).not.toContain('very-secret');
    expect(ServiceTitanTokenCache.keyFor({ ...credentials, clientSecret: 'other' })).not.toBe(key);
  });
});
