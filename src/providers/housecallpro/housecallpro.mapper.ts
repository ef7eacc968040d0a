import { CountryCode, isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js';

import { ProviderStatus, Referral } from '../field-service-provider';
import {
  HcpAddress,
  HcpAddressInput,
  HcpCreateCustomerRequest,
  HcpCreateJobRequest,
  HcpCustomer,
  HcpJob,
} from './housecallpro.types';

export const HCP_LEAD_SOURCE = 'TradeEngage';
export const HCP_TAG = 'tradeengage';

export interface MappedHcpStatus {
  status: ProviderStatus;
  rawStatus: string;
  completedAt: Date | null;
  revenueCents: number | null;
}

// Response values of work_status (providers.md 2.3); the filter tokens (in_progress, ...) are accepted too.
const WORK_STATUSES: Record<string, ProviderStatus> = {
  'needs scheduling': 'received',
  unscheduled: 'received',
  scheduled: 'scheduled',
  'in progress': 'in_progress',
  in_progress: 'in_progress',
  'complete rated': 'completed',
  'complete unrated': 'completed',
  completed: 'completed',
  'user canceled': 'canceled',
  'pro canceled': 'canceled',
  canceled: 'canceled',
};

/** HCP has no external-id field, so the routing id travels as a job tag (providers.md 2.2). */
export function routingTag(routingId: string): string {
  return `te-routing-${routingId}`;
}

export function toAddressInput(address: Referral['address']): HcpAddressInput {
  const unit = address.unit?.trim();
  return {
    street: address.street,
    ...(unit ? { street_line_2: unit } : {}),
    city: address.city,
    state: address.state,
    zip: address.zip,
    country: address.country,
  };
}

export function toCreateCustomerRequest(referral: Referral): HcpCreateCustomerRequest {
  const { homeowner } = referral;
  const email = homeowner.email?.trim();
  const phone = homeowner.phone ? normalizePhone(homeowner.phone, referral.address.country) : undefined;
  return {
    first_name: homeowner.firstName,
    last_name: homeowner.lastName,
    ...(email ? { email } : {}),
    ...(phone ? { mobile_number: phone.digits } : {}),
    lead_source: HCP_LEAD_SOURCE,
    addresses: [toAddressInput(referral.address)],
  };
}

export function toCreateJobRequest(
  referral: Referral,
  ids: { customerId: string; addressId: string },
): HcpCreateJobRequest {
  const lines = [referral.summary, '', `Referred by ${referral.referringCompanyName} via TradeEngage.`];
  if (referral.trade) lines.push(`Trade: ${referral.trade}`);
  return {
    customer_id: ids.customerId,
    address_id: ids.addressId,
    tags: [HCP_TAG, routingTag(referral.routingId)],
    lead_source: HCP_LEAD_SOURCE,
    notes: lines.join('\n'),
  };
}

/**
 * A phone in two forms: E.164 for exact comparison, and the national digits we search with
 * (a substring of both "5551234567" and "+15551234567" as a provider may store it).
 */
export function normalizePhone(phone: string, country?: string | null): { e164: string; digits: string } | undefined {
  const code = country?.trim().toUpperCase();
  const region: CountryCode = code && isSupportedCountry(code) ? code : 'US';
  const parsed = parsePhoneNumberFromString(phone, region);
  if (parsed?.isPossible()) return { e164: parsed.number, digits: parsed.nationalNumber };
  const digits = phone.replace(/\D/g, '');
  return digits ? { e164: digits, digits } : undefined;
}

export function samePhone(
  a: string | null | undefined,
  b: string | null | undefined,
  country?: string | null,
): boolean {
  if (!a || !b) return false;
  const left = normalizePhone(a, country);
  const right = normalizePhone(b, country);
  return !!left && !!right && left.e164 === right.e164;
}

export function sameEmail(a: string | null | undefined, b: string | null | undefined): boolean {
  return !!a && !!b && a.trim().toLowerCase() === b.trim().toLowerCase();
}

/** The customer our referral describes: same mobile number, else same email (never just q's fuzzy hit). */
export function matchCustomer(customers: readonly HcpCustomer[], referral: Referral): HcpCustomer | undefined {
  const { phone, email } = referral.homeowner;
  const country = referral.address.country;
  return (
    customers.find((c) => samePhone(c.mobile_number, phone, country)) ??
    customers.find((c) => sameEmail(c.email, email)) ??
    // Without phone or email, only the full name plus the service address identifies the homeowner.
    (!phone && !email
      ? customers.find(
          (c) =>
            sameText(c.first_name, referral.homeowner.firstName) &&
            sameText(c.last_name, referral.homeowner.lastName) &&
            !!matchAddress(c.addresses ?? [], referral.address),
        )
      : undefined)
  );
}

export function matchAddress(addresses: readonly HcpAddress[], address: Referral['address']): HcpAddress | undefined {
  return addresses.find((a) => sameText(a.street, address.street) && sameZip(a.zip, address.zip));
}

export function mapJobStatus(job: HcpJob): MappedHcpStatus | null {
  const status = WORK_STATUSES[String(job.work_status).trim().toLowerCase()];
  if (!status) return null;
  const completedAtText = status === 'completed' ? job.work_timestamps?.completed_at : null;
  return {
    status,
    rawStatus: job.work_status,
    completedAt: completedAtText ? new Date(completedAtText) : null,
    revenueCents: status === 'completed' ? centsOrNull(job.total_amount) : null,
  };
}

/** Job totals are integer cents (providers.md 2.3). */
function centsOrNull(value: number | string | null | undefined): number | null {
  if (value === null || value === undefined || value === '') return null;
  const cents = typeof value === 'number' ? value : Number(value);
  return Number.isSafeInteger(cents) ? cents : null;
}

function sameText(a: string | null | undefined, b: string | null | undefined): boolean {
  const norm = (s: string) => s.trim().toLowerCase().replace(/[.,#]/g, '').replace(/\s+/g, ' ');
  return !!a && !!b && norm(a) === norm(b);
}

function sameZip(a: string | null | undefined, b: string | null | undefined): boolean {
  // ZIP+4 and 5-digit forms of the same ZIP are the same place.
  const norm = (s: string) =>
    s
      .trim()
      .toUpperCase()
      .replace(/\s+/g, '')
      .replace(/^(\d{5})-?\d{4}$/, '$1');
  return !!a && !!b && norm(a) === norm(b);
}
