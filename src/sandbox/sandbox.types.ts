/** Types shared by the sandbox server and its control client (SandboxControl). */

export type SandboxProvider = 'servicetitan' | 'housecallpro';
export const SANDBOX_PROVIDERS: readonly SandboxProvider[] = ['servicetitan', 'housecallpro'];

export type AutoLifecycleSetting = false | { completeAfterMs: number };

export interface SandboxRuntimeOptions {
  autoRegister: boolean;
  tokenTtlSeconds: number;
  autoLifecycle: AutoLifecycleSetting;
}

export interface SandboxOptionsUpdate {
  autoRegister?: boolean;
  tokenTtlSeconds?: number;
  autoLifecycle?: boolean | { completeAfterMs?: number };
}

export interface ServiceTitanTenantRegistration {
  tenantId: string | number;
  clientId: string;
  clientSecret: string;
  bookingProviderId: string | number;
}

export interface HousecallProCompanyRegistration {
  apiKey: string;
}

export interface FaultConfig {
  /** Share (0..1) of API calls answered with errorStatus. */
  errorRate?: number;
  errorStatus?: number;
  /** When set, injected errors carry this Retry-After (seconds); by default they carry none. */
  errorRetryAfterSeconds?: number;
  /** Share (0..1) of API calls answered with 429 + Retry-After. */
  rateLimitRate?: number;
  retryAfterSeconds?: number;
  latencyMs?: number | { min: number; max: number };
  /** Share (0..1) of creates that store the record and then never answer. */
  timeoutAfterCreateRate?: number;
  /** Makes the fault dice deterministic. */
  seed?: number;
}

/** A fault config as the sandbox applies it, defaults filled in. */
export interface ActiveFaults {
  errorRate: number;
  errorStatus: number;
  errorRetryAfterSeconds: number | null;
  rateLimitRate: number;
  retryAfterSeconds: number;
  latencyMs: { min: number; max: number };
  timeoutAfterCreateRate: number;
  seed: number | null;
}

export interface LimitConfig {
  perSecond?: number;
  perMinute?: number;
}

export type ServiceTitanAction = 'convert' | 'schedule' | 'start' | 'hold' | 'complete' | 'cancel' | 'dismiss';
export type HousecallProAction = 'schedule' | 'start' | 'complete' | 'cancel';
export const SERVICETITAN_ACTIONS: readonly ServiceTitanAction[] = [
  'convert',
  'schedule',
  'start',
  'hold',
  'complete',
  'cancel',
  'dismiss',
];
export const HOUSECALLPRO_ACTIONS: readonly HousecallProAction[] = ['schedule', 'start', 'complete', 'cancel'];

// ---- ServiceTitan API shapes (providers.md 1.2, 1.3) ----

export interface StAddress {
  street: string;
  unit?: string | null;
  city: string;
  state: string;
  zip: string;
  country: string;
}

export interface StContact {
  id: number;
  type: 'Phone' | 'Email' | 'Fax' | 'MobilePhone';
  value: string;
  memo: string | null;
  modifiedOn: string;
}

export type StBookingStatus = 'New' | 'Converted' | 'Dismissed' | 'Accepted';
export type StJobStatus = 'Scheduled' | 'InProgress' | 'Hold' | 'Completed' | 'Canceled';

export interface StBookingResponse {
  id: number;
  source: string;
  createdOn: string;
  name: string;
  address: StAddress | null;
  customerType: string | null;
  start: string | null;
  summary: string;
  campaignId: number | null;
  businessUnitId: number | null;
  isFirstTimeClient: boolean;
  uploadedImages: string[];
  isSendConfirmationEmail: boolean;
  status: StBookingStatus;
  dismissingReasonId: number | null;
  jobId: number | null;
  externalId: string;
  priority: string | null;
  jobTypeId: number | null;
  bookingProviderId: number;
  modifiedOn: string;
}

export interface StJobResponse {
  id: number;
  jobNumber: string;
  customerId: number;
  locationId: number;
  jobStatus: StJobStatus;
  completedOn: string | null;
  businessUnitId: number | null;
  jobTypeId: number | null;
  priority: string | null;
  campaignId: number | null;
  summary: string;
  customFields: unknown[];
  appointmentCount: number;
  firstAppointmentId: number;
  lastAppointmentId: number;
  recallForId: number | null;
  warrantyId: number | null;
  noCharge: boolean;
  notificationsEnabled: boolean;
  createdOn: string;
  createdById: number;
  modifiedOn: string;
  tagTypeIds: number[];
  leadCallId: number | null;
  bookingId: number | null;
  soldById: number | null;
  externalData: unknown;
  total: number;
  invoiceId: number | null;
  projectId: number | null;
}

export interface StInvoiceResponse {
  id: number;
  syncStatus: string;
  referenceNumber: string;
  invoiceDate: string;
  dueDate: string;
  subTotal: string;
  salesTax: string;
  total: string;
  balance: string;
  summary: string;
  customer: { id: number; name: string };
  location: { id: number; name: string };
  businessUnit: { id: number; name: string } | null;
  job: { id: number; number: string; type: string };
  items: unknown[];
  modifiedOn: string;
  createdOn: string;
  active: boolean;
}

export interface StPage<T> {
  page: number;
  pageSize: number;
  hasMore: boolean;
  totalCount?: number;
  data: T[];
}

export interface StApiErrorResponse {
  type: string;
  title: string;
  status: number;
  traceId: string;
  errors: Record<string, string[]>;
  data: Record<string, unknown>;
  detail?: string;
}

// ---- Housecall Pro API shapes (providers.md 2.2, 2.3) ----

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

export type StBookingRecord = StBookingResponse & {
  tenantId: string;
  appKey: string | null;
  contacts: StContact[];
  jobStatus: StJobStatus | null;
};
export type StJobRecord = StJobResponse & { tenantId: string };
export type StInvoiceRecord = StInvoiceResponse & { tenantId: string; jobId: number };

export interface ServiceTitanRecords {
  tenants: { tenantId: string; bookingProviderIds: string[] }[];
  clients: { clientId: string; tenantIds: string[] | '*'; autoRegistered: boolean }[];
  bookings: StBookingRecord[];
  jobs: StJobRecord[];
  invoices: StInvoiceRecord[];
}

export type HcpCustomerRecord = HcpCustomerResponse & { apiKey: string };
export type HcpJobRecord = HcpJobResponse & {
  apiKey: string;
  customer_id: string;
  address_id: string;
  line_items: HcpLineItem[];
};
export type HcpInvoiceRecord = HcpInvoiceResponse & { apiKey: string };

export interface HousecallProRecords {
  companies: { apiKey: string; autoRegistered: boolean }[];
  customers: HcpCustomerRecord[];
  jobs: HcpJobRecord[];
  invoices: HcpInvoiceRecord[];
  tags: { apiKey: string; id: string; name: string }[];
  leadSources: { apiKey: string; id: string; name: string }[];
}

export interface SandboxRecords {
  servicetitan?: ServiceTitanRecords;
  housecallpro?: HousecallProRecords;
}

export interface RouteStats {
  count: number;
  byStatus: Record<string, number>;
}

export interface ProviderStats {
  requests: number;
  tokenRequests: number;
  rateLimited: number;
  byStatus: Record<string, number>;
  byRoute: Record<string, RouteStats>;
  /** Requests per account (ServiceTitan tenant id / Housecall Pro api key). */
  byAccount: Record<string, number>;
}

export interface SandboxStats {
  requests: number;
  tokenRequests: number;
  rateLimited: number;
  providers: Record<SandboxProvider, ProviderStats>;
}

export interface RequestLogEntry {
  seq: number;
  at: string;
  provider: SandboxProvider;
  method: string;
  path: string;
  route: string;
  /** HTTP status, or "no_response" when the sandbox held the request open (timeoutAfterCreate). */
  status: number | 'no_response';
  durationMs: number;
  account: string | null;
  headers: Record<string, string>;
}

export interface StLifecycleResult {
  booking: StBookingResponse;
  job: StJobResponse | null;
  invoice: StInvoiceResponse | null;
}

export interface HcpLifecycleResult {
  job: HcpJobResponse;
  invoice: HcpInvoiceResponse | null;
}
