import { ProviderStatus, Referral } from '../field-service-provider';
import { JobberClientNode, JobberProperty, JobberRequestStatus } from './jobber.types';

// Jobber titles are short strings (the sandbox, like Jobber's UI, refuses more than 255 characters).
const MAX_TITLE = 255;

/** The reference a request's title ends with: how a retry finds the request an earlier attempt created. */
export function routingReference(routingId: string): string {
  return `[te-routing-${routingId}]`;
}

export function requestTitle(referral: Referral): string {
  const reference = routingReference(referral.routingId);
  const text = `Referral from ${referral.referringCompanyName}: ${referral.summary}`.replace(/\s+/g, ' ').trim();
  const room = MAX_TITLE - reference.length - 1;
  return `${text.length > room ? `${text.slice(0, room - 1)}…` : text} ${reference}`;
}

/** Phone digits as Jobber's search matches them: the national number, without the US country code. */
export function phoneDigits(phone: string | null | undefined): string | null {
  if (!phone) return null;
  const digits = phone.replace(/\D/g, '');
  const national = digits.length === 11 && digits.startsWith('1') ? digits.slice(1) : digits;
  return national.length >= 7 ? national : null;
}

/** A search is fuzzy: only a client with exactly this phone, or this email, is the homeowner. */
export function matchClient(
  clients: JobberClientNode[],
  homeowner: Referral['homeowner'],
): JobberClientNode | undefined {
  const phone = phoneDigits(homeowner.phone);
  const email = homeowner.email?.trim().toLowerCase();
  const live = clients.filter((c) => !c.isArchived);
  return (
    (phone && live.find((c) => c.phones.some((p) => phoneDigits(p.number) === phone))) ||
    (email && live.find((c) => c.emails.some((e) => e.address.trim().toLowerCase() === email))) ||
    undefined
  );
}

export function matchProperty(properties: JobberProperty[], address: Referral['address']): JobberProperty | undefined {
  const street = normalize(address.street);
  return properties.find(
    (p) => normalize(p.address.street1) === street && (p.address.postalCode ?? '').startsWith(address.zip.slice(0, 5)),
  );
}

export function addressInput(address: Referral['address']) {
  return {
    street1: address.street,
    ...(address.unit ? { street2: address.unit } : {}),
    city: address.city,
    province: address.state,
    postalCode: address.zip,
    country: address.country,
  };
}

export function clientCreateInput(referral: Referral) {
  const { homeowner } = referral;
  return {
    firstName: homeowner.firstName,
    lastName: homeowner.lastName,
    ...(homeowner.phone ? { phones: [{ number: homeowner.phone, description: 'MAIN', primary: true }] } : {}),
    ...(homeowner.email ? { emails: [{ address: homeowner.email, description: 'MAIN', primary: true }] } : {}),
    properties: [{ address: addressInput(referral.address) }],
  };
}

// A job the partner is working on (SPEC section 4): active, due today or late, with a visit under way.
const WORKING_JOB_STATUSES = new Set(['active', 'today', 'late']);

/**
 * Where a referral stands, from its request and the request's jobs (SPEC section 4): request `new` → received; with a
 * job: `completedAt` set → completed (revenue = total × 100, rounded to cents), `on_hold` → on_hold, active/today/late
 * with a visit started → in_progress, any other job state → scheduled; request `archived` without a job → canceled.
 * Other request states without a job are still leads at the partner: received.
 */
export function mapRequestStatus(
  request: JobberRequestStatus,
  now: Date,
): { status: ProviderStatus; rawStatus: string; completedAt: Date | null; revenueCents: number | null } {
  const jobs = request.jobs.nodes;
  // One referral becomes one job as a rule; with several, the completed one (or the newest) speaks for it.
  const job = jobs.find((j) => j.completedAt) ?? jobs[jobs.length - 1];
  if (!job) {
    const status: ProviderStatus = request.requestStatus === 'archived' ? 'canceled' : 'received';
    return { status, rawStatus: request.requestStatus, completedAt: null, revenueCents: null };
  }
  const base = { rawStatus: job.jobStatus, completedAt: null, revenueCents: null };
  if (job.completedAt) {
    return {
      status: 'completed',
      rawStatus: job.jobStatus,
      completedAt: new Date(job.completedAt),
      revenueCents: Math.round(job.total * 100),
    };
  }
  if (job.jobStatus === 'on_hold') return { ...base, status: 'on_hold' };
  const started = job.visits.nodes.some(
    (v) => !v.isComplete && (v.visitStatus === 'ACTIVE' || (v.startAt !== null && new Date(v.startAt) <= now)),
  );
  if (WORKING_JOB_STATUSES.has(job.jobStatus) && started) return { ...base, status: 'in_progress' };
  return { ...base, status: 'scheduled' };
}

function normalize(text: string | null | undefined): string {
  return (text ?? '').toLowerCase().replace(/[^a-z0-9]/g, '');
}
