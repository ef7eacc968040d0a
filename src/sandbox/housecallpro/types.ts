/** Housecall Pro shapes shared by the sandbox and its control client (providers.md 2.2, 2.3). */

export interface HousecallProCompanyRegistration {
  apiKey: string;
}

export type HousecallProAction = 'schedule' | 'start' | 'complete' | 'cancel';
export const HOUSECALLPRO_ACTIONS: readonly HousecallProAction[] = ['schedule', 'start', 'complete', 'cancel'];

export interface HcpAddress {
  id: string;
  type: 'billing' | 'service';
  street: string | null;
  street_line_2: string | null;
  city: string | null;
  state: string | null;
  zip: string | null;
  country: string | null;
}

export interface HcpCustomerResponse {
  id: string;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
  mobile_number: string | null;
  home_number: string | null;
  work_number: string | null;
  company: string | null;
  notifications_enabled: boolean;
  lead_source: string | null;
  notes: string | null;
  tags: string[];
  addresses: HcpAddress[];
  company_name: string;
  company_id: string;
  created_at: string;
  updated_at: string;
}

export type HcpWorkStatus =
  | 'needs scheduling'
  | 'scheduled'
  | 'in progress'
  | 'complete rated'
  | 'complete unrated'
  | 'user canceled'
  | 'pro canceled';

export interface HcpLineItem {
  name: string;
  description: string | null;
  unit_price: number;
  quantity: number;
  unit_cost: number | null;
}

export interface HcpJobResponse {
  id: string;
  invoice_number: string;
  description: string | null;
  customer: Omit<HcpCustomerResponse, 'addresses'>;
  address: HcpAddress;
  notes: string | null;
  work_status: HcpWorkStatus;
  work_timestamps: { on_my_way_at: string | null; started_at: string | null; completed_at: string | null };
  schedule: { scheduled_start: string | null; scheduled_end: string | null; arrival_window: number };
  total_amount: number;
  subtotal: number;
  outstanding_balance: number;
  assigned_employees: unknown[];
  tags: string[];
  lead_source: string | null;
  job_fields: { job_type: unknown; business_unit: unknown };
  canceled_at: string | null;
  deleted_at: string | null;
  created_at: string;
  updated_at: string;
  company_name: string;
  company_id: string;
}

export interface HcpInvoiceResponse {
  id: string;
  job_id: string;
  invoice_number: string;
  status: string;
  amount: number;
  subtotal: number;
  due_amount: number;
  paid_at: string | null;
  sent_at: string | null;
  service_date: string;
  invoice_date: string;
  items: { name: string; unit_price: number; quantity: number; amount: number }[];
  taxes: unknown[];
  discounts: unknown[];
  payments: unknown[];
}

// ---- Control API shapes ----

/** Records name their company by the api key id (apiKeyId), never by the key itself. */
export type HcpCustomerRecord = HcpCustomerResponse & { keyId: string };
export type HcpJobRecord = HcpJobResponse & {
  keyId: string;
  customer_id: string;
  address_id: string;
  line_items: HcpLineItem[];
};
export type HcpInvoiceRecord = HcpInvoiceResponse & { keyId: string };

export interface HousecallProRecords {
  companies: { keyId: string; companyId: string; autoRegistered: boolean; webhookUrl: string | null }[];
  customers: HcpCustomerRecord[];
  jobs: HcpJobRecord[];
  invoices: HcpInvoiceRecord[];
  tags: { keyId: string; id: string; name: string }[];
  leadSources: { keyId: string; id: string; name: string }[];
}

export interface HcpLifecycleResult {
  job: HcpJobResponse;
  invoice: HcpInvoiceResponse | null;
}
