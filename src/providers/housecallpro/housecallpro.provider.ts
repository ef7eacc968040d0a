import { Injectable, Logger } from '@nestjs/common';

import { readCredentials } from '../credentials';
import {
  CreatedReferral,
  FieldServiceProvider,
  HousecallProCredentials,
  ProviderCallHooks,
  ProviderCredentials,
  Referral,
  ReferralStatus,
  StatusQuery,
} from '../field-service-provider';
import { ProviderError } from '../provider-error';
import { mapWithConcurrency } from '../provider-http';
import { HousecallProClient } from './housecallpro.client';
import {
  mapJobStatus,
  matchAddress,
  matchCustomer,
  normalizePhone,
  routingTag,
  toAddressInput,
  toCreateCustomerRequest,
  toCreateJobRequest,
} from './housecallpro.mapper';
import { HcpCustomer, HcpJob } from './housecallpro.types';

// A phone or email search that needs more pages than this is not a search for one homeowner.
const MAX_SEARCH_PAGES = 5;
// For one or two jobs a probing list page saves at most one call and can cost one more: read them by id.
const MIN_JOBS_FOR_LIST_SCAN = 3;
const CONCURRENCY = 4;

/**
 * A referral is a Housecall Pro job for the homeowner's customer record. HCP has no external-id
 * field (providers.md 2.2), so the job carries the tag `te-routing-<routingId>` and a retry finds it.
 */
@Injectable()
export class HousecallProProvider implements FieldServiceProvider {
  readonly type = 'housecallpro' as const;
  private readonly logger = new Logger(HousecallProProvider.name);

  constructor(private readonly client: HousecallProClient) {}

  validateCredentials(credentials: unknown): HousecallProCredentials {
    return readCredentials(credentials, { apiKey: 'string' });
  }

  async createReferral(params: {
    credentials: ProviderCredentials;
    referral: Referral;
    hooks?: ProviderCallHooks;
  }): Promise<CreatedReferral> {
    const call = { credentials: this.validateCredentials(params.credentials), hooks: params.hooks };
    const { referral } = params;

    let customer = await this.findCustomer(call, referral);
    const customerIsNew = !customer;
    customer ??= await this.client.createCustomer({ ...call, customer: toCreateCustomerRequest(referral) });
    if (!customer?.id) throw invalidResponse('customer response has no id');

    const addressId =
      matchAddress(customer.addresses ?? [], referral.address)?.id ??
      (await this.client.addAddress({ ...call, customerId: customer.id, address: toAddressInput(referral.address) }))
        .id;

    // A customer we just created cannot have our job yet; otherwise an earlier attempt may have made it.
    if (!customerIsNew) {
      const existing = await this.findTaggedJob(call, customer.id, routingTag(referral.routingId));
      if (existing) return { externalId: existing.id, created: false };
    }
    const job = await this.client.createJob({
      ...call,
      job: toCreateJobRequest(referral, { customerId: customer.id, addressId }),
    });
    if (!job?.id) throw invalidResponse('job response has no id');
    return { externalId: job.id, created: true };
  }

  async getStatuses(params: {
    credentials: ProviderCredentials;
    queries: StatusQuery[];
    hooks?: ProviderCallHooks;
  }): Promise<ReferralStatus[]> {
    const call = { credentials: this.validateCredentials(params.credentials), hooks: params.hooks };
    const jobs = await this.readJobs(call, [...new Set(params.queries.map((q) => q.externalId))]);

    const results: ReferralStatus[] = [];
    for (const query of params.queries) {
      const job = jobs.get(query.externalId);
      if (!job) continue;
      const mapped = mapJobStatus(job);
      if (!mapped) {
        this.logger.warn(`Unrecognised Housecall Pro work_status "${job.work_status}" for job ${job.id}`);
        continue;
      }
      results.push({ routingId: query.routingId, externalId: query.externalId, ...mapped });
    }
    return results;
  }

  /**
   * HCP has no ids filter (providers.md 2.3). Per-id `GET /jobs/{id}` costs one call per job; a scan of
   * `GET /jobs?sort_by=updated_at&sort_direction=desc` costs one call per 100 jobs of the company.
   * After the first page tells us total_pages, keep scanning only while the pages left are no more
   * than the jobs still missing, then read the rest by id. Jobs still unseen when the pages run out
   * are read by id too: one updated mid-scan jumps to page 1 and would otherwise be missed.
   */
  private async readJobs(call: HcpCall, ids: string[]): Promise<Map<string, HcpJob>> {
    const found = new Map<string, HcpJob>();
    const wanted = new Set(ids);
    const record = (jobs: HcpJob[]) => {
      for (const job of jobs) if (wanted.has(job.id)) found.set(job.id, job);
    };
    const missing = () => ids.filter((id) => !found.has(id));

    if (ids.length >= MIN_JOBS_FOR_LIST_SCAN) {
      let page = 0;
      let totalPages = 1;
      do {
        page++;
        const result = await this.client.listJobs({ ...call, page, sortBy: 'updated_at', sortDirection: 'desc' });
        record(result.jobs);
        totalPages = Number(result.total_pages) || page;
        if (result.jobs.length === 0) break;
      } while (missing().length > 0 && page < totalPages && totalPages - page <= missing().length);
    }

    const jobs = await mapWithConcurrency(missing(), CONCURRENCY, (jobId) => this.client.getJob({ ...call, jobId }));
    record(jobs.filter((job): job is HcpJob => job !== null));
    return found;
  }

  private async findCustomer(call: HcpCall, referral: Referral): Promise<HcpCustomer | undefined> {
    const { phone, email, firstName, lastName } = referral.homeowner;
    const searches: string[] = [];
    const normalized = phone ? normalizePhone(phone, referral.address.country) : undefined;
    if (normalized) searches.push(normalized.digits);
    if (email?.trim()) searches.push(email.trim());
    if (searches.length === 0) searches.push(`${firstName} ${lastName}`.trim());

    for (const q of searches) {
      for (let page = 1; page <= MAX_SEARCH_PAGES; page++) {
        const result = await this.client.searchCustomers({ ...call, q, page });
        // `q` is a fuzzy search over name, email, phone and address: only an exact match counts.
        const match = matchCustomer(result.customers, referral);
        if (match) return match;
        if (result.customers.length === 0 || page >= (Number(result.total_pages) || 1)) break;
      }
    }
    return undefined;
  }

  private async findTaggedJob(call: HcpCall, customerId: string, tag: string): Promise<HcpJob | undefined> {
    for (let page = 1; ; page++) {
      const result = await this.client.listJobs({ ...call, customerId, page });
      const match = result.jobs.find((job) => job.tags?.includes(tag));
      if (match) return match;
      if (result.jobs.length === 0 || page >= (Number(result.total_pages) || 1)) return undefined;
    }
  }
}

type HcpCall = { credentials: HousecallProCredentials; hooks?: ProviderCallHooks };

function invalidResponse(message: string): ProviderError {
  return new ProviderError({ code: 'UNKNOWN', retryable: false, providerMessage: message });
}
