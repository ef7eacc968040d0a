import { Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter } from 'prom-client';

import { ProviderCallStats } from '../health/provider-call-stats';
import { METRIC } from '../metrics/metrics';
import { ProviderCallHooks, ProviderType } from '../providers/field-service-provider';
import { ProviderRateLimiter } from './provider-rate-limiter';

/**
 * What happens around every provider HTTP request, for sync and polling alike: wait for the
 * account's shared rate-limit slot, count the response, cool the account down after a 429.
 */
@Injectable()
export class ProviderCallHooksFactory {
  constructor(
    private readonly limiter: ProviderRateLimiter,
    private readonly stats: ProviderCallStats,
    @InjectMetric(METRIC.providerRequests) private readonly providerRequests: Counter,
    @InjectMetric(METRIC.providerRateLimited) private readonly providerRateLimited: Counter,
  ) {}

  create(params: {
    provider: ProviderType;
    account: string;
    requestId?: string;
    deadline?: number;
    onResponse?: (status: number | string) => void;
  }): ProviderCallHooks {
    const { provider, account } = params;
    return {
      requestId: params.requestId,
      beforeRequest: () => this.limiter.acquire(provider, account, params.deadline),
      afterResponse: (info) => {
        this.providerRequests.inc({ provider, status: String(info.status) });
        this.stats.record(provider, info.status);
        params.onResponse?.(info.status);
        if (info.status === 429) {
          this.providerRateLimited.inc({ provider });
          void this.limiter.coolDown(provider, account, info.retryAfterMs ?? 1000);
        }
      },
    };
  }
}
