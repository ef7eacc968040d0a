import { Inject, Injectable } from '@nestjs/common';

import { ProviderCallHooks } from '../field-service-provider';
import { ProviderError } from '../provider-error';
import { ProviderRequest, joinUrl, queryString, sendProviderRequest } from '../provider-http';
import { providerSettingsToken } from '../provider-definition';
import type { HousecallProCredentials, HousecallProSettings } from '.';
import {
  HcpAddress,
  HcpAddressInput,
  HcpCreateCustomerRequest,
  HcpCreateJobRequest,
  HcpCustomer,
  HcpCustomersPage,
  HcpJob,
  HcpJobsPage,
} from './housecallpro.types';

// Maximum page_size is unconfirmed (providers.md 2.7); a server that caps lower still reports total_pages.
export const HCP_PAGE_SIZE = 100;

interface Call {
  credentials: HousecallProCredentials;
  hooks?: ProviderCallHooks;
}

/** Raw HTTP for Housecall Pro: `Authorization: Token <apiKey>` (not Bearer, providers.md 2.1). */
@Injectable()
export class HousecallProClient {
  constructor(@Inject(providerSettingsToken('housecallpro')) private readonly settings: HousecallProSettings) {}

  async searchCustomers(params: Call & { q: string; page: number }): Promise<HcpCustomersPage> {
    const page = await this.api<HcpCustomersPage>(params, {
      method: 'GET',
      path: `/customers?${queryString({ q: params.q, page: params.page, page_size: HCP_PAGE_SIZE })}`,
    });
    return { ...page, customers: page?.customers ?? [] };
  }

  createCustomer(params: Call & { customer: HcpCreateCustomerRequest }): Promise<HcpCustomer> {
    return this.api<HcpCustomer>(params, { method: 'POST', path: '/customers', json: params.customer });
  }

  addAddress(params: Call & { customerId: string; address: HcpAddressInput }): Promise<HcpAddress> {
    return this.api<HcpAddress>(params, {
      method: 'POST',
      path: `/customers/${encodeURIComponent(params.customerId)}/addresses`,
      json: params.address,
    });
  }

  async listJobs(
    params: Call & {
      page: number;
      customerId?: string;
      sortBy?: 'updated_at' | 'created_at';
      sortDirection?: 'asc' | 'desc';
    },
  ): Promise<HcpJobsPage> {
    const filters: Record<string, string | number> = {};
    if (params.customerId) filters.customer_id = params.customerId;
    if (params.sortBy) filters.sort_by = params.sortBy;
    if (params.sortDirection) filters.sort_direction = params.sortDirection;
    const page = await this.api<HcpJobsPage>(params, {
      method: 'GET',
      path: `/jobs?${queryString({ ...filters, page: params.page, page_size: HCP_PAGE_SIZE })}`,
    });
    return { ...page, jobs: page?.jobs ?? [] };
  }

  /** null when the job does not exist (or no longer does) for this company. */
  async getJob(params: Call & { jobId: string }): Promise<HcpJob | null> {
    try {
      return await this.api<HcpJob>(params, { method: 'GET', path: `/jobs/${encodeURIComponent(params.jobId)}` });
    } catch (error) {
      if (error instanceof ProviderError && error.code === 'NOT_FOUND') return null;
      throw error;
    }
  }

  createJob(params: Call & { job: HcpCreateJobRequest }): Promise<HcpJob> {
    return this.api<HcpJob>(params, { method: 'POST', path: '/jobs', json: params.job, createsRecord: true });
  }

  private api<T>(
    call: Call,
    request: { method: ProviderRequest['method']; path: string; json?: unknown; createsRecord?: boolean },
  ): Promise<T> {
    return sendProviderRequest<T>({
      method: request.method,
      url: joinUrl(this.settings.apiUrl, request.path),
      headers: { Authorization: `Token ${call.credentials.apiKey}` },
      json: request.json,
      timeoutMs: this.settings.requestTimeoutMs,
      hooks: call.hooks,
      createsRecord: request.createsRecord,
    });
  }
}
