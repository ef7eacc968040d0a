import { createHash, randomUUID } from 'node:crypto';

import { omit } from '../http';
import type {
  HcpAddress,
  HcpCustomerResponse,
  HcpInvoiceResponse,
  HcpJobResponse,
  HcpLineItem,
  HcpWorkStatus,
  HousecallProRecords,
} from './types';

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

/** A stable, non-secret id for an api key: what stats, the request log and records show instead of the key. */
export function apiKeyId(apiKey: string): string {
  return `hcpk_${createHash('sha256').update(apiKey).digest('hex').slice(0, 12)}`;
}

export interface HcpCompany {
  apiKey: string;
  keyId: string;
  autoRegistered: boolean;
  /** Set through the control API; Housecall Pro subscribes webhooks per company. */
  webhookUrl: string | null;
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

/** `count` completed jobs of one history customer, all stamped `at`. */
export function addHistory(company: HcpCompany, count: number, at: string): void {
  const customerId = hcpId('cus');
  const addressId = hcpId('adr');
  company.customers.set(customerId, {
    id: customerId,
    seq: ++company.seq,
    first_name: 'Earlier',
    last_name: 'Customer',
    email: null,
    mobile_number: null,
    home_number: null,
    work_number: null,
    company: null,
    notifications_enabled: false,
    lead_source: null,
    notes: null,
    tags: [],
    addresses: [
      {
        id: addressId,
        type: 'service',
        street: '1 Old Rd',
        street_line_2: null,
        city: 'Austin',
        state: 'TX',
        zip: '78701',
        country: 'US',
      },
    ],
    created_at: at,
    updated_at: at,
  });
  for (let i = 0; i < count; i++) {
    const invoiceNumber = String(company.nextInvoiceNumber++);
    company.invoiceNumbers.add(invoiceNumber);
    const job: HcpJob = {
      id: hcpId('job'),
      seq: ++company.seq,
      customer_id: customerId,
      address_id: addressId,
      invoice_number: invoiceNumber,
      description: 'Earlier job',
      notes: null,
      work_status: 'complete rated',
      work_timestamps: { on_my_way_at: at, started_at: at, completed_at: at },
      schedule: { scheduled_start: at, scheduled_end: at, arrival_window: 0 },
      total_amount: 10_000,
      subtotal: 10_000,
      outstanding_balance: 0,
      tags: [],
      lead_source: null,
      line_items: [],
      job_fields: { job_type: null, business_unit: null },
      canceled_at: null,
      deleted_at: null,
      created_at: at,
      updated_at: at,
    };
    company.jobs.set(job.id, job);
  }
}

export class HousecallProStore {
  /** By api key. */
  private readonly companies = new Map<string, HcpCompany>();
  private readonly byKeyId = new Map<string, HcpCompany>();

  register(apiKey: string, autoRegistered = false): HcpCompany {
    const existing = this.companies.get(apiKey);
    if (existing) return existing;
    const company: HcpCompany = {
      apiKey,
      keyId: apiKeyId(apiKey),
      autoRegistered,
      webhookUrl: null,
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
    this.byKeyId.set(company.keyId, company);
    return company;
  }

  get(apiKey: string): HcpCompany | undefined {
    return this.companies.get(apiKey);
  }

  getByKeyId(keyId: string): HcpCompany | undefined {
    return this.byKeyId.get(keyId);
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
      companies: companies.map((c) => ({
        keyId: c.keyId,
        companyId: c.companyId,
        autoRegistered: c.autoRegistered,
        webhookUrl: c.webhookUrl,
      })),
      customers: companies.flatMap((c) =>
        [...c.customers.values()].map((cus) => ({ ...toCustomerResponse(c, cus), keyId: c.keyId })),
      ),
      jobs: companies.flatMap((c) =>
        [...c.jobs.values()].map((job) => ({
          ...toHcpJobResponse(c, job),
          keyId: c.keyId,
          customer_id: job.customer_id,
          address_id: job.address_id,
          line_items: structuredClone(job.line_items),
        })),
      ),
      invoices: companies.flatMap((c) =>
        [...c.invoices.values()].flat().map((inv) => ({ ...structuredClone(inv), keyId: c.keyId })),
      ),
      tags: companies.flatMap((c) => c.tags.map((t) => ({ keyId: c.keyId, ...t }))),
      leadSources: companies.flatMap((c) => c.leadSources.map((t) => ({ keyId: c.keyId, ...t }))),
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
