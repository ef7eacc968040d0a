import { Injectable, Logger } from '@nestjs/common';

import {
  ChangedRecords,
  CreatedReferral,
  FieldServiceProvider,
  ProviderCallHooks,
  Referral,
  RecordStatus,
  ReferralStatus,
  StatusQuery,
} from '../field-service-provider';
import { ProviderError } from '../provider-error';
import { mapWithConcurrency } from '../provider-http';
import type { HousecallProCredentials } from '.';
import { HCP_PAGE_SIZE, HousecallProClient } from './housecallpro.client';
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
 * The change feed re-reads jobs updated this long before the last read's newest `updated_at`: a write whose
 * timestamp was taken before that read but committed after it (or stamped by a server whose clock runs behind)
 * is still seen. Jobs with the very same timestamp as the mark are re-read too (the bound is inclusive).
 */
export const HCP_CHANGES_OVERLAP_MS = 60_000;

/**
 * A referral is a Housecall Pro job for the homeowner's customer record. HCP has no external-id
 * field (providers.md 2.2), so the job carries the tag `te-routing-<routingId>` and a retry finds it.
 */
@Injectable()
export class HousecallProProvider implements FieldServiceProvider<HousecallProCredentials> {
  private readonly logger = new Logger(HousecallProProvider.name);

  constructor(private readonly client: HousecallProClient) {}

  async createReferral(params: {
    credentials: HousecallProCredentials;
    referral: Referral;
    mayAlreadyExist: boolean;
    hooks?: ProviderCallHooks;
  }): Promise<CreatedReferral> {
    const call = { credentials: params.credentials, hooks: params.hooks };
    const { referral } = params;

    let customer = await this.findCustomer(call, referral);
    const customerIsNew = !customer;
    customer ??= await this.client.createCustomer({ ...call, customer: toCreateCustomerRequest(referral) });
    if (!customer?.id) throw invalidResponse('customer response has no id');

    const addressId =
      matchAddress(customer.addresses ?? [], referral.address)?.id ??
      (await this.client.addAddress({ ...call, customerId: customer.id, address: toAddressInput(referral.address) }))
        .id;

    // Only an earlier attempt can have made our job, and never for a customer created just now.
    if (params.mayAlreadyExist && !customerIsNew) {
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
    credentials: HousecallProCredentials;
    queries: StatusQuery[];
    hooks?: ProviderCallHooks;
  }): Promise<ReferralStatus[]> {
    const call = { credentials: params.credentials, hooks: params.hooks };
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
   * HCP has no ids filter and no updated-since filter (providers.md 2.3): page through
   * `GET /jobs?sort_by=updated_at&sort_direction=desc` until a job older than the cursor (the newest `updated_at`
   * the last read saw) less HCP_CHANGES_OVERLAP_MS. The next cursor is the newest `updated_at` of page 1, read
   * before anything else: a job updated during the scan moves above it and the next read finds it. Without a
   * cursor only page 1 is read (it sets the cursor; the rest is read by id). Past `maxRequests` pages the scan
   * stops and is incomplete (cursor lost): the caller reads the rest by id, which costs no more.
   */
  async readChanges(params: {
    credentials: HousecallProCredentials;
    cursor: string | null;
    maxRequests: number;
    hooks?: ProviderCallHooks;
  }): Promise<ChangedRecords> {
    const call = { credentials: params.credentials, hooks: params.hooks };
    const since = params.cursor === null ? NaN : Date.parse(params.cursor);
    const stopBelow = since - HCP_CHANGES_OVERLAP_MS;
    const changes = new Map<string, RecordStatus>();
    let cursor: string | null = null;
    let newest = -Infinity;
    let complete = false;
    const maxPages = Math.max(1, params.maxRequests);
    for (let page = 1; page <= maxPages; page++) {
      const result = await this.client.listJobs({ ...call, page, sortBy: 'updated_at', sortDirection: 'desc' });
      let passedMark = false;
      for (const job of result.jobs) {
        const updated = job.updated_at ? Date.parse(job.updated_at) : NaN;
        if (page === 1 && updated > newest) {
          newest = updated;
          cursor = job.updated_at!;
        }
        if (updated < stopBelow) {
          passedMark = true;
          continue;
        }
        if (changes.has(job.id)) continue; // moved up during the scan: the first (newer) copy counts
        const mapped = mapJobStatus(job);
        if (mapped) changes.set(job.id, { externalId: job.id, ...mapped });
        else this.logger.warn(`Unrecognised Housecall Pro work_status "${job.work_status}" for job ${job.id}`);
      }
      // A server that caps page_size lower says so in the page; total_pages counts in its page size.
      const pageSize = Number(result.page_size) || HCP_PAGE_SIZE;
      const lastPage = result.jobs.length < pageSize || page >= (Number(result.total_pages) || page);
      if (Number.isNaN(since)) break; // first read: page 1 only, for the cursor
      if (passedMark || lastPage) {
        complete = true;
        break;
      }
    }
    // An empty account has no newest job yet: keep the old mark.
    return { changes, complete, cursor: cursor ?? params.cursor };
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
