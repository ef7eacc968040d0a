/**
 * Every GraphQL document the service sends to Jobber, in one place. Each is checked against Jobber's schema by
 * jobber.documents.spec.ts (and `npm run jobber:check-schema -- <introspection.json>` for a newer version).
 * `estimatedCost` is where the query budget wait starts before Jobber has told us what a document costs.
 */
export interface JobberOperation {
  name: string;
  document: string;
  estimatedCost: number;
}

export const ACCOUNT: JobberOperation = {
  name: 'Account',
  document: `query Account { account { id name } }`,
  estimatedCost: 3,
};

/** The form a request must be submitted with (`RequestCreateInput.customFormInput` is required at 2022-03-10). */
export const REQUEST_FORM: JobberOperation = {
  name: 'RequestForm',
  document: `query RequestForm { requestSettings { forms(first: 1) { nodes { id } } } }`,
  estimatedCost: 4,
};

export const FIND_CLIENTS: JobberOperation = {
  name: 'FindClients',
  document: `query FindClients($searchTerm: String!) {
  clients(searchTerm: $searchTerm, first: 10) {
    nodes {
      id
      isArchived
      phones { number }
      emails { address }
      clientProperties(first: 10) { nodes { id address { street1 postalCode } } }
    }
  }
}`,
  estimatedCost: 560,
};

/** One page of a client's requests, newest first: a retry looks for the one carrying its routing reference. */
export const CLIENT_REQUESTS: JobberOperation = {
  name: 'ClientRequests',
  document: `query ClientRequests($clientId: EncodedId!, $after: String) {
  client(id: $clientId) {
    requests(first: 50, after: $after) {
      nodes { id title }
      pageInfo { hasNextPage endCursor }
    }
  }
}`,
  estimatedCost: 105,
};

export const CREATE_CLIENT: JobberOperation = {
  name: 'CreateClient',
  document: `mutation CreateClient($input: ClientCreateInput!) {
  clientCreate(input: $input) {
    client { id clientProperties(first: 1) { nodes { id } } }
    userErrors { message path }
  }
}`,
  estimatedCost: 10,
};

export const CREATE_PROPERTY: JobberOperation = {
  name: 'CreateProperty',
  document: `mutation CreateProperty($clientId: EncodedId!, $input: PropertyCreateInput!) {
  propertyCreate(clientId: $clientId, input: $input) {
    properties { id }
    userErrors { message path }
  }
}`,
  estimatedCost: 10,
};

export const CREATE_REQUEST: JobberOperation = {
  name: 'CreateRequest',
  document: `mutation CreateRequest($input: RequestCreateInput!) {
  requestCreate(input: $input) {
    request { id title }
    userErrors { message path }
  }
}`,
  estimatedCost: 10,
};

/** What polling reads of one request: its status and its jobs' progress, completion and total. */
export const REQUEST_STATUS_FRAGMENT = `fragment RequestStatus on Request {
  id
  requestStatus
  jobs(first: 3) {
    nodes {
      id
      jobStatus
      completedAt
      total
      visits(first: 5) { nodes { visitStatus startAt isComplete } }
    }
  }
}`;
export const REQUEST_STATUS_COST = 65;
/** Jobber allows many aliased fields in one document; we send at most this many requests per poll document. */
export const MAX_REQUESTS_PER_DOCUMENT = 50;

/** One document reading `count` requests through aliases `r0`…: the fragment above, repeated mechanically. */
export function requestStatusesOperation(count: number): JobberOperation {
  const variables = Array.from({ length: count }, (_, i) => `$id${i}: EncodedId!`).join(', ');
  const fields = Array.from({ length: count }, (_, i) => `  r${i}: request(id: $id${i}) { ...RequestStatus }`).join(
    '\n',
  );
  return {
    name: 'RequestStatuses',
    document: `query RequestStatuses(${variables}) {\n${fields}\n}\n${REQUEST_STATUS_FRAGMENT}`,
    estimatedCost: REQUEST_STATUS_COST * count,
  };
}

/** Webhooks name jobs and visits; the routing is the request they came from. */
export const JOB_REQUEST: JobberOperation = {
  name: 'JobRequest',
  document: `query JobRequest($id: EncodedId!) { job(id: $id) { id request { id } } }`,
  estimatedCost: 4,
};

export const VISIT_REQUEST: JobberOperation = {
  name: 'VisitRequest',
  document: `query VisitRequest($id: EncodedId!) { visit(id: $id) { id job { id request { id } } } }`,
  estimatedCost: 6,
};

export const INVOICE_REQUEST: JobberOperation = {
  name: 'InvoiceRequest',
  document: `query InvoiceRequest($id: EncodedId!) { invoice(id: $id) { id jobs(first: 1) { nodes { id request { id } } } } }`,
  estimatedCost: 8,
};

export const STATIC_OPERATIONS: JobberOperation[] = [
  ACCOUNT,
  REQUEST_FORM,
  FIND_CLIENTS,
  CLIENT_REQUESTS,
  CREATE_CLIENT,
  CREATE_PROPERTY,
  CREATE_REQUEST,
  JOB_REQUEST,
  INVOICE_REQUEST,
  VISIT_REQUEST,
];
