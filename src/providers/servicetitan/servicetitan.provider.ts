import { Injectable, Logger } from '@nestjs/common';

import { readCredentials } from '../credentials';
import {
  CreatedReferral,
  FieldServiceProvider,
  ProviderCallHooks,
  ProviderCredentials,
  Referral,
  ReferralStatus,
  ServiceTitanCredentials,
  StatusQuery,
} from '../field-service-provider';
import { mapWithConcurrency } from '../provider-http';
import { ServiceTitanClient } from './servicetitan.client';
import { invoiceRevenueCents, mapBookingStatus, toCreateBookingRequest } from './servicetitan.mapper';
import { StInvoice, StJob } from './servicetitan.types';

const INVOICE_CONCURRENCY = 4;

/** A referral is a ServiceTitan booking whose externalId is our routing id (providers.md 1.2 A). */
@Injectable()
export class ServiceTitanProvider implements FieldServiceProvider {
  readonly type = 'servicetitan' as const;
  private readonly logger = new Logger(ServiceTitanProvider.name);

  constructor(private readonly client: ServiceTitanClient) {}

  validateCredentials(credentials: unknown): ServiceTitanCredentials {
    return readCredentials(credentials, {
      tenantId: 'integer',
      clientId: 'string',
      clientSecret: 'string',
      bookingProviderId: 'integer',
    });
  }

  async createReferral(params: {
    credentials: ProviderCredentials;
    referral: Referral;
    hooks?: ProviderCallHooks;
  }): Promise<CreatedReferral> {
    const credentials = this.validateCredentials(params.credentials);
    const { referral, hooks } = params;
    // ServiceTitan does not promise to reject a duplicate externalId, so look before every create:
    // an earlier attempt may have created the booking and then timed out (providers.md 1.2 A).
    const existing = await this.client.findBookingByExternalId({ credentials, externalId: referral.routingId, hooks });
    if (existing) return { externalId: String(existing.id), created: false };
    const booking = await this.client.createBooking({ credentials, booking: toCreateBookingRequest(referral), hooks });
    return { externalId: String(booking.id), created: true };
  }

  /**
   * Calls: ceil(bookings/50) + ceil(booked jobs/50) + one invoice list per completed job
   * (plus a token request when the cached token is missing or about to expire).
   */
  async getStatuses(params: {
    credentials: ProviderCredentials;
    queries: StatusQuery[];
    hooks?: ProviderCallHooks;
  }): Promise<ReferralStatus[]> {
    const credentials = this.validateCredentials(params.credentials);
    const { hooks } = params;
    // Booking ids are int64; anything else cannot exist at ServiceTitan.
    const bookingIds = [...new Set(params.queries.map((q) => q.externalId).filter((id) => /^\d+$/.test(id)))];
    if (bookingIds.length === 0) return [];

    const bookings = await this.client.getBookingsByIds({ credentials, ids: bookingIds, hooks });
    const jobIds = bookings.filter((b) => b.jobId !== null && b.jobId !== undefined).map((b) => String(b.jobId));
    const jobs = jobIds.length ? await this.client.getJobsByIds({ credentials, ids: jobIds, hooks }) : [];
    const jobsById = new Map<string, StJob>(jobs.map((job) => [String(job.id), job]));

    const completed = jobs.filter((job) => job.jobStatus === 'Completed');
    const invoiceLists = await mapWithConcurrency(completed, INVOICE_CONCURRENCY, (job) =>
      this.client.getInvoicesForJob({ credentials, jobId: String(job.id), hooks }),
    );
    const invoicesByJob = new Map<string, StInvoice[]>(completed.map((job, i) => [String(job.id), invoiceLists[i]]));

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
