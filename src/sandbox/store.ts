import { randomBytes, randomUUID } from 'node:crypto';

import type {
  HcpAddress,
  HcpCustomerResponse,
  HcpInvoiceResponse,
  HcpJobResponse,
  HcpLineItem,
  HcpWorkStatus,
  HousecallProRecords,
  ServiceTitanRecords,
  StBookingResponse,
  StContact,
  StInvoiceRecord,
  StInvoiceResponse,
  StJobRecord,
  StJobResponse,
} from './sandbox.types';

// ---------------- ServiceTitan ----------------

export type StBooking = StBookingResponse & { tenantId: string; appKey: string | null; contacts: StContact[] };

interface StClient {
  secret: string;
  /** '*' for auto-registered clients: they may act on any tenant. */
  tenants: Set<string> | '*';
  autoRegistered: boolean;
}

interface StToken {
  clientId: string;
  expiresAt: number;
}

export type ClientCheck = { ok: true } | { ok: false; reason: 'unknown_client' | 'bad_secret' };
export type TokenCheck =
  | { ok: true; clientId: string }
  | { ok: false; reason: 'invalid' | 'expired' | 'tenant_forbidden'; expiredAt?: number };

function base64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

export class ServiceTitanStore {
  readonly bookings = new Map<number, StBooking>();
  readonly jobs = new Map<number, StJobRecord>();
  readonly invoices = new Map<number, StInvoiceRecord>();
  private readonly clients = new Map<string, StClient>();
  /** Explicitly registered tenants and the booking provider ids they accept. */
  private readonly tenants = new Map<string, Set<string>>();
  private readonly tokens = new Map<string, StToken>();
  // Distinct ranges per entity make a booking id passed where a job id is expected fail loudly.
  private ids = { booking: 50_000_001, job: 60_000_001, invoice: 70_000_001, customer: 80_000_001, other: 90_000_001 };
  private jobNumber = 10_001;

  nextId(kind: keyof ServiceTitanStore['ids']): number {
    return this.ids[kind]++;
  }

  nextJobNumber(): string {
    return String(this.jobNumber++);
  }

  registerTenant(tenantId: string, clientId: string, clientSecret: string, bookingProviderId: string): void {
    const existing = this.clients.get(clientId);
    const tenants = existing && existing.tenants !== '*' ? existing.tenants : new Set<string>();
    tenants.add(tenantId);
    this.clients.set(clientId, { secret: clientSecret, tenants, autoRegistered: false });
    const providers = this.tenants.get(tenantId) ?? new Set<string>();
    providers.add(bookingProviderId);
    this.tenants.set(tenantId, providers);
  }

  checkClient(clientId: string, secret: string, autoRegister: boolean): ClientCheck {
    const client = this.clients.get(clientId);
    if (!client) {
      if (!autoRegister) return { ok: false, reason: 'unknown_client' };
      this.clients.set(clientId, { secret, tenants: '*', autoRegistered: true });
      return { ok: true };
    }
    return client.secret === secret ? { ok: true } : { ok: false, reason: 'bad_secret' };
  }

  /** A JWT-shaped opaque token; the sandbox only ever looks it up. */
  issueToken(clientId: string, ttlSeconds: number): string {
    const now = Date.now();
    const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'at+jwt' }));
    const payload = base64url(
      JSON.stringify({
        iss: 'sandbox-servicetitan',
        client_id: clientId,
        iat: Math.floor(now / 1000),
        exp: Math.floor(now / 1000 + ttlSeconds),
        jti: randomUUID(),
      }),
    );
    const token = `${header}.${payload}.${base64url(randomBytes(32))}`;
    if (this.tokens.size > 50_000) this.pruneTokens(now);
    this.tokens.set(token, { clientId, expiresAt: now + ttlSeconds * 1000 });
    return token;
  }

  checkToken(token: string, tenantId: string): TokenCheck {
    const entry = this.tokens.get(token);
    if (!entry) return { ok: false, reason: 'invalid' };
    if (Date.now() >= entry.expiresAt) return { ok: false, reason: 'expired', expiredAt: entry.expiresAt };
    const client = this.clients.get(entry.clientId);
    if (!client) return { ok: false, reason: 'invalid' };
    if (client.tenants !== '*' && !client.tenants.has(tenantId)) return { ok: false, reason: 'tenant_forbidden' };
    return { ok: true, clientId: entry.clientId };
  }

  /** Unregistered tenants (reached through auto-registered clients) accept any booking provider. */
  acceptsBookingProvider(tenantId: string, bookingProviderId: string): boolean {
    const providers = this.tenants.get(tenantId);
    return !providers || providers.has(bookingProviderId);
  }

  records(): ServiceTitanRecords {
    return {
      tenants: [...this.tenants].map(([tenantId, ids]) => ({ tenantId, bookingProviderIds: [...ids] })),
      clients: [...this.clients].map(([clientId, c]) => ({
        clientId,
        tenantIds: c.tenants === '*' ? '*' : [...c.tenants],
        autoRegistered: c.autoRegistered,
      })),
      bookings: [...this.bookings.values()].map((b) => ({
        ...structuredClone(b),
        jobStatus: b.jobId ? (this.jobs.get(b.jobId)?.jobStatus ?? null) : null,
      })),
      jobs: [...this.jobs.values()].map((j) => structuredClone(j)),
      invoices: [...this.invoices.values()].map((i) => structuredClone(i)),
    };
  }

  private pruneTokens(now: number): void {
    for (const [token, entry] of this.tokens) if (entry.expiresAt <= now) this.tokens.delete(token);
  }
}

function omit<T extends object, K extends keyof T>(value: T, keys: K[]): Omit<T, K> {
  const copy = structuredClone(value);
  for (const key of keys) delete copy[key];
  return copy;
}

export function toBookingResponse(b: StBooking): StBookingResponse {
  return omit(b, ['tenantId', 'appKey', 'contacts']);
}

export function toJobResponse(j: StJobRecord): StJobResponse {
  return omit(j, ['tenantId']);
}

export function toInvoiceResponse(i: StInvoiceRecord): StInvoiceResponse {
  return omit(i, ['tenantId', 'jobId']);
}

// ---------------- Housecall Pro ----------------

export function hcpId(prefix: string): string {
  return `${prefix}_${randomUUID().replace(/-/g, '')}`;
}

export type HcpCustomer = Omit<HcpCustomerResponse, 'company_name' | 'company_id'> & { seq: number };

export interface HcpJob {
  id: string;
  seq: number;
  customer_id: string;
  address_id: string;
  invoice_number: string;
  description: string | null;
  notes: string | null;
  work_status: HcpWorkStatus;
  work_timestamps: { on_my_way_at: string | null; started_at: string | null; completed_at: string | null };
  schedule: { scheduled_start: string | null; scheduled_end: string | null; arrival_window: number };
  total_amount: number;
  subtotal: number;
  outstanding_balance: number;
  tags: string[];
  lead_source: string | null;
  line_items: HcpLineItem[];
  job_fields: { job_type: unknown; business_unit: unknown };
  canceled_at: string | null;
  deleted_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface HcpCompany {
  apiKey: string;
  autoRegistered: boolean;
  companyId: string;
  companyName: string;
  customers: Map<string, HcpCustomer>;
  jobs: Map<string, HcpJob>;
  /** Invoices by job id. */
  invoices: Map<string, HcpInvoiceResponse[]>;
  tags: { id: string; name: string }[];
  leadSources: { id: string; name: string }[];
  nextInvoiceNumber: number;
  /** Invoice numbers are unique per company. */
  invoiceNumbers: Set<string>;
  seq: number;
}

export class HousecallProStore {
  private readonly companies = new Map<string, HcpCompany>();

  register(apiKey: string, autoRegistered = false): HcpCompany {
    const existing = this.companies.get(apiKey);
    if (existing) return existing;
    const company: HcpCompany = {
      apiKey,
      autoRegistered,
      companyId: randomUUID(),
      companyName: `Sandbox Company ${this.companies.size + 1}`,
      customers: new Map(),
      jobs: new Map(),
      invoices: new Map(),
      tags: [],
      leadSources: [],
      nextInvoiceNumber: 1,
      invoiceNumbers: new Set(),
      seq: 0,
    };
    this.companies.set(apiKey, company);
    return company;
  }

  get(apiKey: string): HcpCompany | undefined {
    return this.companies.get(apiKey);
  }

  /** Job ids are random, so a lookup across companies is unambiguous (used by the control API). */
  findJob(jobId: string): { company: HcpCompany; job: HcpJob } | null {
    for (const company of this.companies.values()) {
      const job = company.jobs.get(jobId);
      if (job) return { company, job };
    }
    return null;
  }

  allJobs(): { company: HcpCompany; job: HcpJob }[] {
    return [...this.companies.values()].flatMap((company) =>
      [...company.jobs.values()].map((job) => ({ company, job })),
    );
  }

  records(): HousecallProRecords {
    const companies = [...this.companies.values()];
    return {
      companies: companies.map((c) => ({ apiKey: c.apiKey, autoRegistered: c.autoRegistered })),
      customers: companies.flatMap((c) =>
        [...c.customers.values()].map((cus) => ({ ...toCustomerResponse(c, cus), apiKey: c.apiKey })),
      ),
      jobs: companies.flatMap((c) =>
        [...c.jobs.values()].map((job) => ({
          ...toHcpJobResponse(c, job),
          apiKey: c.apiKey,
          customer_id: job.customer_id,
          address_id: job.address_id,
          line_items: structuredClone(job.line_items),
        })),
      ),
      invoices: companies.flatMap((c) =>
        [...c.invoices.values()].flat().map((inv) => ({ ...structuredClone(inv), apiKey: c.apiKey })),
      ),
      tags: companies.flatMap((c) => c.tags.map((t) => ({ apiKey: c.apiKey, ...t }))),
      leadSources: companies.flatMap((c) => c.leadSources.map((t) => ({ apiKey: c.apiKey, ...t }))),
    };
  }
}

export function toCustomerResponse(company: HcpCompany, c: HcpCustomer): HcpCustomerResponse {
  return { ...omit(c, ['seq']), company_name: company.companyName, company_id: company.companyId };
}

export function toHcpJobResponse(company: HcpCompany, job: HcpJob): HcpJobResponse {
  // Jobs can only be created for an existing customer and address, and neither is ever deleted.
  const customer = company.customers.get(job.customer_id) as HcpCustomer;
  const address = customer.addresses.find((a) => a.id === job.address_id) as HcpAddress;
  return {
    id: job.id,
    invoice_number: job.invoice_number,
    description: job.description,
    customer: omit(toCustomerResponse(company, customer), ['addresses']),
    address: structuredClone(address),
    notes: job.notes,
    work_status: job.work_status,
    work_timestamps: { ...job.work_timestamps },
    schedule: { ...job.schedule },
    total_amount: job.total_amount,
    subtotal: job.subtotal,
    outstanding_balance: job.outstanding_balance,
    assigned_employees: [],
    tags: [...job.tags],
    lead_source: job.lead_source,
    job_fields: { ...job.job_fields },
    canceled_at: job.canceled_at,
    deleted_at: job.deleted_at,
    created_at: job.created_at,
    updated_at: job.updated_at,
    company_name: company.companyName,
    company_id: company.companyId,
  };
}

/** Phone numbers compare on digits, with a US country code dropped (+1 E.164 vs 10 digits). */
export function normalizePhone(value: string | null | undefined): string {
  const digits = (value ?? '').replace(/\D/g, '');
  return digits.length === 11 && digits.startsWith('1') ? digits.slice(1) : digits;
}
