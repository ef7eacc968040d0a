import Redis from 'ioredis';
import { Counter, Registry } from 'prom-client';

import { AppConfig } from '../config/app-config';
import { ProviderError } from '../providers/provider-error';
import { ProviderRateLimiter } from './provider-rate-limiter';

describe('ProviderRateLimiter time limit', () => {
  const registry = new Registry();
  let metrics = 0;
  const counter = (name: string) =>
    new Counter({ name: `${name}_${++metrics}`, help: name, labelNames: ['provider'], registers: [registry] });
  const limits = { perMinute: 60, perHour: 3600, burst: 10 };
  const config = { rateLimits: { servicetitan: limits, housecallpro: limits } } as unknown as AppConfig;

  /** A Redis whose ACQUIRE script always answers `waitMs` (0: the slot is free now). */
  function limiterAnswering(waitMs: number) {
    const evalMock = jest.fn().mockResolvedValue(waitMs);
    const limiter = new ProviderRateLimiter(
      { eval: evalMock } as unknown as Redis,
      config,
      counter('limited'),
      counter('fail_open'),
    );
    return { limiter, evalMock };
  }

  it('lets a call through with a free slot before the deadline', async () => {
    const { limiter } = limiterAnswering(0);
    await expect(limiter.acquire('servicetitan', 'acct', Date.now() + 10_000)).resolves.toBeUndefined();
  });

  it('starts no call once the deadline has passed, even with a free slot (and takes no slot)', async () => {
    const { limiter, evalMock } = limiterAnswering(0);
    const refused = limiter.acquire('servicetitan', 'acct', Date.now() - 1);
    await expect(refused).rejects.toBeInstanceOf(ProviderError);
    await expect(refused).rejects.toMatchObject({ code: 'TIMEOUT', retryable: true });
    expect(evalMock).not.toHaveBeenCalled();
  });

  it('refuses a wait that would end past the deadline, as a retryable timeout', async () => {
    const { limiter } = limiterAnswering(5_000);
    await expect(limiter.acquire('housecallpro', 'acct', Date.now() + 1_000)).rejects.toMatchObject({
      code: 'TIMEOUT',
      retryable: true,
    });
  });
});
