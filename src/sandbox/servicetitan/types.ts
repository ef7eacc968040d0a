/** ServiceTitan shapes shared by the sandbox and its control client (providers.md 1.2, 1.3). */

export interface ServiceTitanTenantRegistration {
  tenantId: string | number;
  clientId: string;
  clientSecret: string;
  bookingProviderId: string | number;
}

export type ServiceTitanAction = 'convert' | 'schedule' | 'start' | 'hold' | 'complete' | 'cancel' | 'dismiss';
export const SERVICETITAN_ACTIONS: readonly ServiceTitanAction[] = [
  'convert',
  'schedule',
  'start',
  'hold',
  'complete',
  'cancel',
  'dismiss',
];

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

export interface StLifecycleResult {
  booking: StBookingResponse;
  job: StJobResponse | null;
  invoice: StInvoiceResponse | null;
}
