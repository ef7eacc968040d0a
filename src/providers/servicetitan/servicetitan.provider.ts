import { Injectable, Logger } from '@nestjs/common';

import {
  CreatedReferral,
  FieldServiceProvider,
  ProviderCallHooks,
  Referral,
  ReferralStatus,
  StatusQuery,
} from '../field-service-provider';
import type { WebhookItem } from '../provider-definition';
import { mapWithConcurrency } from '../provider-http';
import type { ServiceTitanCredentials } from '.';
import { ServiceTitanClient } from './servicetitan.client';
import { invoiceRevenueCents, mapBookingStatus, toCreateBookingRequest } from './servicetitan.mapper';
import { StInvoice, StJob } from './servicetitan.types';

const INVOICE_CONCURRENCY = 4;

/** A referral is a ServiceTitan booking whose externalId is our routing id (providers.md 1.2 A). */
@Injectable()
export class ServiceTitanProvider implements FieldServiceProvider<ServiceTitanCredentials> {
  private readonly logger = new Logger(ServiceTitanProvider.name);

  constructor(private readonly client: ServiceTitanClient) {}

  async createReferral(params: {
    credentials: ServiceTitanCredentials;
    referral: Referral;
    mayAlreadyExist: boolean;
    hooks?: ProviderCallHooks;
  }): Promise<CreatedReferral> {
    const { credentials, referral, hooks } = params;
    // ServiceTitan does not promise to reject a duplicate externalId, so look before creating whenever an earlier
    // attempt may have created the booking and then timed out (providers.md 1.2 A).
    if (params.mayAlreadyExist) {
      const existing = await this.client.findBookingByExternalId({
        credentials,
        externalId: referral.routingId,
        hooks,
      });
      if (existing) return { externalId: String(existing.id), created: false };
    }
    const booking = await this.client.createBooking({ credentials, booking: toCreateBookingRequest(referral), hooks });
    return { externalId: String(booking.id), created: true };
  }

  /**
   * Calls: ceil(bookings/50) + ceil(booked jobs/50) + ceil(completed jobs' invoiceIds/50) + one invoice list per
   * completed job that carries no `invoiceId` (plus a token request when the cached token is missing or about to
   * expire). `invoiceId` on the job is seen in a live probe, not in the published spec (providers.md 1.3): the
   * per-job `?jobId=` read is what keeps revenue right where it is absent.
   */
  async getStatuses(params: {
    credentials: ServiceTitanCredentials;
    queries: StatusQuery[];
    hooks?: ProviderCallHooks;
  }): Promise<ReferralStatus[]> {
    const { credentials, hooks } = params;
    // Booking ids are int64; anything else cannot exist at ServiceTitan.
    const bookingIds = [...new Set(params.queries.map((q) => q.externalId).filter((id) => /^\d+$/.test(id)))];
    if (bookingIds.length === 0) return [];

    const bookings = await this.client.getBookingsByIds({ credentials, ids: bookingIds, hooks });
    const jobIds = bookings.filter((b) => b.jobId !== null && b.jobId !== undefined).map((b) => String(b.jobId));
    const jobs = jobIds.length ? await this.client.getJobsByIds({ credentials, ids: jobIds, hooks }) : [];
    const jobsById = new Map<string, StJob>(jobs.map((job) => [String(job.id), job]));
    const invoicesByJob = await this.completedJobInvoices(credentials, hooks, jobs);

    const bookingsById = new Map(bookings.map((booking) => [String(booking.id), booking]));
    const results: ReferralStatus[] = [];
    for (const query of params.queries) {
      const booking = bookingsById.get(query.externalId);
      if (!booking) continue;
      const jobId = booking.jobId === null || booking.jobId === undefined ? undefined : String(booking.jobId);
      const job = jobId === undefined ? undefined : jobsById.get(jobId);
      const mapped = mapBookingStatus(booking, job);
      if (!mapped) {
        this.logger.warn(
          `Unrecognised ServiceTitan status "${job?.jobStatus ?? booking.status}" for booking ${booking.id}`,
        );
        continue;
      }
      const invoices = job ? invoicesByJob.get(String(job.id)) : undefined;
      results.push({
        routingId: query.routingId,
        externalId: query.externalId,
        ...mapped,
        revenueCents: mapped.status === 'completed' && invoices ? this.revenue(invoices, job) : null,
      });
    }
    return results;
  }

  /** Webhooks about a job (without its booking id): the booking each job was made from. One call per 50 jobs. */
  async findReferralIds(params: {
    credentials: ServiceTitanCredentials;
    items: WebhookItem[];
    hooks?: ProviderCallHooks;
  }): Promise<(string | null)[]> {
    const jobIds = [...new Set(params.items.filter((i) => i.type === 'job' && /^\d+$/.test(i.id)).map((i) => i.id))];
    const jobs = jobIds.length
      ? await this.client.getJobsByIds({ credentials: params.credentials, ids: jobIds, hooks: params.hooks })
      : [];
    const bookingOf = new Map(jobs.map((job) => [String(job.id), job.bookingId]));
    return params.items.map((item) => {
      const bookingId = item.type === 'job' ? bookingOf.get(item.id) : undefined;
      return bookingId === null || bookingId === undefined ? null : String(bookingId);
    });
  }

  /** The invoices of each completed job: by `ids` where the job names its invoice, else by `?jobId=`. */
  private async completedJobInvoices(
    credentials: ServiceTitanCredentials,
    hooks: ProviderCallHooks | undefined,
    jobs: StJob[],
  ): Promise<Map<string, StInvoice[]>> {
    const completed = jobs.filter((job) => job.jobStatus === 'Completed');
    const hasInvoiceId = (job: StJob) => job.invoiceId !== null && job.invoiceId !== undefined;
    const withId = completed.filter(hasInvoiceId);
    const withoutId = completed.filter((job) => !hasInvoiceId(job));
    const invoicesByJob = new Map<string, StInvoice[]>();

    if (withId.length) {
      const invoices = await this.client.getInvoicesByIds({
        credentials,
        ids: withId.map((job) => String(job.invoiceId)),
        hooks,
      });
      const byId = new Map(invoices.map((invoice) => [String(invoice.id), invoice]));
      for (const job of withId) {
        const invoice = byId.get(String(job.invoiceId));
        // An invoice of another job (or none returned) is no revenue of this one: read it by job instead.
        if (invoice && (!invoice.job || String(invoice.job.id) === String(job.id))) {
          invoicesByJob.set(String(job.id), [invoice]);
        } else {
          withoutId.push(job);
        }
      }
    }
    const lists = await mapWithConcurrency(withoutId, INVOICE_CONCURRENCY, (job) =>
      this.client.getInvoicesForJob({ credentials, jobId: String(job.id), hooks }),
    );
    withoutId.forEach((job, i) => invoicesByJob.set(String(job.id), lists[i]));
    return invoicesByJob;
  }

  private revenue(invoices: StInvoice[], job: StJob | undefined): number | null {
    try {
      return invoiceRevenueCents(invoices);
    } catch (error) {
      // One malformed amount must not fail the whole batch; the status is still worth recording.
      this.logger.warn(`Unreadable invoice total for ServiceTitan job ${job?.id}: ${(error as Error).message}`);
      return null;
    }
  }
}
