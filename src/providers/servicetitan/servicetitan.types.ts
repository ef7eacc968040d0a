// ServiceTitan payloads we send and read (providers.md section 1). Only the fields we use are typed.

export interface StTokenResponse {
  access_token: string;
  expires_in: number;
  token_type?: string;
  scope?: string;
}

/** List envelope (providers.md 1.7). */
export interface StPage<T> {
  page: number;
  pageSize: number;
  hasMore: boolean;
  totalCount?: number | null;
  data: T[];
}

export type StContactType = 'Phone' | 'Email' | 'Fax' | 'MobilePhone';

/** Crm.V2.CreateBookingRequest (providers.md 1.2 A). */
export interface StCreateBookingRequest {
  source: string;
  name: string;
  summary: string;
  isFirstTimeClient: boolean;
  externalId: string;
  address: { street: string; unit?: string; city: string; state: string; zip: string; country: string };
  contacts: Array<{ type: StContactType; value: string; memo?: string }>;
  customerType: 'Residential' | 'Commercial';
}

export type StBookingStatus = 'New' | 'Converted' | 'Dismissed' | 'Accepted';

/** Crm.V2.BookingResponse. */
export interface StBooking {
  id: number;
  externalId?: string | null;
  status: StBookingStatus | string;
  jobId?: number | null;
  createdOn?: string;
  modifiedOn?: string;
}

export type StJobStatus = 'Scheduled' | 'Dispatched' | 'InProgress' | 'Working' | 'Hold' | 'Completed' | 'Canceled';

/** Jpm.V2.JobResponse (providers.md 1.3). */
export interface StJob {
  id: number;
  jobStatus: StJobStatus | string;
  completedOn?: string | null;
  bookingId?: number | null;
  /** Seen in a 2026 live probe, not in the published spec (providers.md 1.3): may be absent. */
  invoiceId?: number | null;
  modifiedOn?: string;
}

/** Accounting.V2.InvoiceResponse; money fields are decimal strings. */
export interface StInvoice {
  id: number;
  total: string | number | null;
  job?: { id: number; number?: string; type?: string } | null;
}
