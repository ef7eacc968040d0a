import { ProviderStatus, Referral } from '../field-service-provider';
import { StBooking, StCreateBookingRequest, StInvoice, StJob } from './servicetitan.types';

export interface MappedStatus {
  status: ProviderStatus;
  rawStatus: string;
  completedAt: Date | null;
}

const JOB_STATUSES: Record<string, ProviderStatus> = {
  Scheduled: 'scheduled',
  // Dispatched and Working are documented as appointment statuses; some tenants surface them on jobs.
  Dispatched: 'scheduled',
  InProgress: 'in_progress',
  Working: 'in_progress',
  Hold: 'on_hold',
  Completed: 'completed',
  Canceled: 'canceled',
};

export function toCreateBookingRequest(referral: Referral): StCreateBookingRequest {
  const { homeowner, address } = referral;
  const contacts: StCreateBookingRequest['contacts'] = [];
  const phone = homeowner.phone?.trim();
  const email = homeowner.email?.trim();
  if (phone) contacts.push({ type: 'MobilePhone', value: phone });
  if (email) contacts.push({ type: 'Email', value: email });
  const unit = address.unit?.trim();
  return {
    source: `TradeEngage referral from ${referral.referringCompanyName}`,
    name: `${homeowner.firstName} ${homeowner.lastName}`.trim(),
    summary: referral.trade ? `${referral.summary}\n\nTrade: ${referral.trade}` : referral.summary,
    isFirstTimeClient: true,
    externalId: referral.routingId,
    address: {
      street: address.street,
      ...(unit ? { unit } : {}),
      city: address.city,
      state: address.state,
      zip: address.zip,
      country: address.country,
    },
    contacts,
    customerType: 'Residential',
  };
}

/**
 * Where a routing stands, from its booking and (once booked) its job. A booking that a CSR has not
 * turned into a job yet reads as received; dismissing it cancels the referral. Returns null for a
 * status word we do not know, so the caller keeps the last known status instead of guessing.
 */
export function mapBookingStatus(booking: StBooking, job: StJob | undefined): MappedStatus | null {
  if (job) {
    const status = JOB_STATUSES[job.jobStatus];
    if (!status) return null;
    const completedAt = status === 'completed' && job.completedOn ? new Date(job.completedOn) : null;
    return { status, rawStatus: job.jobStatus, completedAt };
  }
  const rawStatus = `Booking:${booking.status}`;
  // A Converted booking whose job we could not read yet is still "received" from our point of view.
  switch (booking.status) {
    case 'New':
    case 'Accepted':
    case 'Converted':
      return { status: 'received', rawStatus, completedAt: null };
    case 'Dismissed':
      return { status: 'canceled', rawStatus, completedAt: null };
    default:
      return null;
  }
}

/** Sum of invoice totals in cents, or null when the job has no invoice yet. */
export function invoiceRevenueCents(invoices: readonly StInvoice[]): number | null {
  if (invoices.length === 0) return null;
  return invoices.reduce((sum, invoice) => sum + (invoice.total === null ? 0 : decimalToCents(invoice.total)), 0);
}

/**
 * Converts a decimal money string ("19.99", "-5", "1234.5") to integer cents by parsing the digits,
 * never through floating point. More than two decimals are rounded half away from zero.
 */
export function decimalToCents(value: string | number): number {
  const text = typeof value === 'number' ? numberToPlainString(value) : value.trim();
  const match = /^([+-])?(\d*)(?:\.(\d*))?$/.exec(text);
  if (!match || (match[2] === '' && (match[3] ?? '') === '')) throw new Error(`invalid decimal amount: "${text}"`);
  const negative = match[1] === '-';
  const whole = match[2] === '' ? '0' : match[2];
  const fraction = match[3] ?? '';
  let cents = BigInt(whole) * 100n + BigInt((fraction + '00').slice(0, 2));
  if (fraction.length > 2 && Number(fraction[2]) >= 5) cents += 1n;
  const result = Number(negative ? -cents : cents);
  if (!Number.isSafeInteger(result)) throw new Error(`decimal amount out of range: "${text}"`);
  return result;
}

function numberToPlainString(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`invalid decimal amount: ${value}`);
  // String(n) is the shortest round-trip form ("19.99"), except in exponent notation.
  const text = String(value);
  return /e/i.test(text) ? value.toFixed(6) : text;
}
