// Housecall Pro payloads we send and read (providers.md section 2). Only the fields we use are typed.

/** List envelope (providers.md 2.7); the collection key depends on the endpoint. */
export interface HcpPage {
  page: number;
  page_size: number;
  total_pages: number;
  total_items: number;
}
export interface HcpCustomersPage extends HcpPage {
  customers: HcpCustomer[];
}
export interface HcpJobsPage extends HcpPage {
  jobs: HcpJob[];
}

export interface HcpAddressInput {
  street: string;
  street_line_2?: string;
  city: string;
  state: string;
  zip: string;
  country: string;
}

export interface HcpAddress extends Partial<HcpAddressInput> {
  id: string;
  type?: 'billing' | 'service' | string;
}

export interface HcpCustomer {
  id: string;
  first_name?: string | null;
  last_name?: string | null;
  email?: string | null;
  mobile_number?: string | null;
  home_number?: string | null;
  work_number?: string | null;
  addresses?: HcpAddress[];
}

export interface HcpCreateCustomerRequest {
  first_name: string;
  last_name: string;
  email?: string;
  mobile_number?: string;
  lead_source: string;
  addresses: HcpAddressInput[];
}

export interface HcpCreateJobRequest {
  customer_id: string;
  address_id: string;
  tags: string[];
  lead_source: string;
  notes: string;
}

export type HcpWorkStatus =
  | 'needs scheduling'
  | 'scheduled'
  | 'in progress'
  | 'complete rated'
  | 'complete unrated'
  | 'user canceled'
  | 'pro canceled';

export interface HcpJob {
  id: string;
  customer?: { id: string } | null;
  work_status: HcpWorkStatus | string;
  work_timestamps?: { on_my_way_at?: string | null; started_at?: string | null; completed_at?: string | null } | null;
  total_amount?: number | string | null;
  tags?: string[] | null;
  lead_source?: string | null;
  updated_at?: string;
}
