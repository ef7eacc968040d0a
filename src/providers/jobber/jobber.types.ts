// Jobber payloads we send and read (providers.md section 3, the 2022-03-10 schema). Only the fields we use.

export interface JobberTokenResponse {
  access_token: string;
  refresh_token: string;
  expires_at?: string;
  expires_in?: number;
}

export interface GraphqlError {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; [key: string]: unknown };
}

export interface JobberCost {
  requestedQueryCost: number;
  actualQueryCost?: number;
  throttleStatus: { maximumAvailable: number; currentlyAvailable: number; restoreRate: number };
}

export interface GraphqlResponse<T> {
  data?: T | null;
  errors?: GraphqlError[];
  extensions?: { cost?: JobberCost };
}

export interface UserError {
  message: string;
  path: string[];
}

export interface JobberClientNode {
  id: string;
  isArchived: boolean;
  phones: { number: string }[];
  emails: { address: string }[];
  clientProperties: { nodes: JobberProperty[] };
}

export interface JobberProperty {
  id: string;
  address: { street1: string | null; postalCode: string | null };
}

export interface JobberRequestStatus {
  id: string;
  requestStatus: string;
  jobs: {
    nodes: {
      id: string;
      jobStatus: string;
      completedAt: string | null;
      total: number;
      visits: { nodes: { visitStatus: string; startAt: string | null; isComplete: boolean }[] };
    }[];
  };
}
