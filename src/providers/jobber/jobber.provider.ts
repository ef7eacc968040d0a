import { Injectable } from '@nestjs/common';

import type { JobberCredentials } from '.';
import { ServiceUnavailableError } from '../../common/errors';
import {
  ConnectedAccount,
  CreatedReferral,
  CredentialsStore,
  FieldServiceProvider,
  ProviderCallHooks,
  Referral,
  ReferralStatus,
  StatusQuery,
} from '../field-service-provider';
import type { WebhookItem } from '../provider-definition';
import { ProviderError } from '../provider-error';
import { chunk } from '../provider-http';
import { JobberCall, JobberClient } from './jobber.client';
import {
  ACCOUNT,
  CLIENT_REQUESTS,
  CREATE_CLIENT,
  CREATE_PROPERTY,
  CREATE_REQUEST,
  FIND_CLIENTS,
  INVOICE_REQUEST,
  JOB_REQUEST,
  MAX_REQUESTS_PER_DOCUMENT,
  REQUEST_FORM,
  REQUEST_STATUS_COST,
  VISIT_REQUEST,
  requestStatusesOperation,
} from './jobber.documents';
import {
  addressInput,
  clientCreateInput,
  mapRequestStatus,
  matchClient,
  matchProperty,
  phoneDigits,
  requestTitle,
  routingReference,
} from './jobber.mapper';
import { JobberClientNode, JobberRequestStatus, UserError } from './jobber.types';

// A client with more requests than this many pages is not the homeowner of a fresh referral's retry.
const MAX_REQUEST_PAGES = 5;
// Budgets as Jobber documents them (providers.md 3.4); a poll document must fit a full bucket.
const DEFAULT_MAXIMUM_BUDGET = 10_000;
const FORM_CACHE_MS = 60 * 60_000;

interface JobRequestRef {
  request: { id: string } | null;
}

type Params = {
  credentials: JobberCredentials;
  credentialsStore?: CredentialsStore<JobberCredentials>;
  hooks?: ProviderCallHooks;
};

/**
 * A referral is a Jobber request for the homeowner's client (providers.md 3.2). Jobber has no external id, so the
 * request's title ends with `[te-routing-<routingId>]` and a retry finds it among the client's requests.
 */
@Injectable()
export class JobberProvider implements FieldServiceProvider<JobberCredentials> {
  /** The request form each account submits requests with, by account. */
  private readonly forms = new Map<string, { id: string; until: number }>();

  constructor(private readonly client: JobberClient) {}

  authorizeUrl(params: { state: string; redirectUri: string }): string {
    if (!this.client.configured()) {
      throw new ServiceUnavailableError('Jobber is not configured: set JOBBER_CLIENT_ID and JOBBER_CLIENT_SECRET');
    }
    return this.client.authorizeUrl(params);
  }

  async connectAccount(params: {
    code: string;
    redirectUri: string;
    hooks?: ProviderCallHooks;
  }): Promise<ConnectedAccount<JobberCredentials>> {
    const credentials = await this.client.exchangeCode(params);
    const { account } = await this.client.query<{ account: { id: string; name: string } }>(
      { credentials, hooks: params.hooks },
      ACCOUNT,
    );
    return {
      credentials: { ...credentials, accountId: account.id },
      externalAccountId: account.id,
      accountName: account.name,
    };
  }

  async createReferral(params: Params & { referral: Referral; mayAlreadyExist: boolean }): Promise<CreatedReferral> {
    const call = this.callOf(params);
    const { referral } = params;
    const found = await this.findClient(call, referral);
    let clientId: string;
    let propertyId: string;
    if (found) {
      clientId = found.id;
      // Only an earlier attempt can have made our request, and only for a client that existed then.
      if (params.mayAlreadyExist) {
        const existing = await this.findRequest(call, clientId, referral.routingId);
        if (existing) return { externalId: existing, created: false };
      }
      propertyId =
        matchProperty(found.clientProperties.nodes, referral.address)?.id ??
        (await this.createProperty(call, clientId, referral));
    } else {
      ({ clientId, propertyId } = await this.createClient(call, referral));
    }
    const payload = await this.client.query<{
      requestCreate: { request: { id: string } | null; userErrors: UserError[] };
    }>(
      call,
      CREATE_REQUEST,
      {
        input: {
          clientId,
          propertyId,
          title: requestTitle(referral),
          customFormInput: { formId: await this.requestFormId(call) },
        },
      },
      { createsRecord: true },
    );
    const request = mutationResult('requestCreate', payload.requestCreate, 'request');
    return { externalId: request.id, created: true };
  }

  /** One document per batch of at most 50 requests (aliases), fewer when a full budget cannot pay for 50. */
  async getStatuses(params: Params & { queries: StatusQuery[] }): Promise<ReferralStatus[]> {
    const call = this.callOf(params);
    const perDocument = Math.max(
      1,
      Math.min(MAX_REQUESTS_PER_DOCUMENT, Math.floor(DEFAULT_MAXIMUM_BUDGET / 2 / REQUEST_STATUS_COST)),
    );
    const now = new Date();
    const results: ReferralStatus[] = [];
    for (const batch of chunk(params.queries, perDocument)) {
      const operation = requestStatusesOperation(batch.length);
      const data = await this.client.query<Record<string, JobberRequestStatus | null>>(
        call,
        operation,
        Object.fromEntries(batch.map((q, i) => [`id${i}`, q.externalId])),
        { units: batch.length },
      );
      batch.forEach((query, i) => {
        const request = data[`r${i}`];
        if (request) results.push({ ...query, ...mapRequestStatus(request, now) });
      });
    }
    return results;
  }

  /**
   * JOB_*, VISIT_* and INVOICE_* webhooks name a job, a visit or an invoice: the request (the routing's external id)
   * each belongs to, or null. One small document per item: a webhook names one.
   */
  async findReferralIds(params: Params & { items: WebhookItem[] }): Promise<(string | null)[]> {
    const call = this.callOf(params);
    const results: (string | null)[] = [];
    for (const item of params.items) {
      const variables = { id: item.id };
      if (item.type === 'job') {
        const { job } = await this.client.query<{ job: JobRequestRef | null }>(call, JOB_REQUEST, variables);
        results.push(job?.request?.id ?? null);
      } else if (item.type === 'visit') {
        const { visit } = await this.client.query<{ visit: { job: JobRequestRef } | null }>(
          call,
          VISIT_REQUEST,
          variables,
        );
        results.push(visit?.job.request?.id ?? null);
      } else if (item.type === 'invoice') {
        const { invoice } = await this.client.query<{ invoice: { jobs: { nodes: JobRequestRef[] } } | null }>(
          call,
          INVOICE_REQUEST,
          variables,
        );
        results.push(invoice?.jobs.nodes[0]?.request?.id ?? null);
      } else {
        results.push(null);
      }
    }
    return results;
  }

  private callOf(params: Params): JobberCall {
    return { credentials: params.credentials, store: params.credentialsStore, hooks: params.hooks };
  }

  /** By phone, then by email: Jobber's search is fuzzy, so only an exact phone or email match counts. */
  private async findClient(call: JobberCall, referral: Referral): Promise<JobberClientNode | undefined> {
    const terms = [phoneDigits(referral.homeowner.phone), referral.homeowner.email?.trim()].filter(
      (t): t is string => !!t,
    );
    for (const searchTerm of terms) {
      const { clients } = await this.client.query<{ clients: { nodes: JobberClientNode[] } }>(call, FIND_CLIENTS, {
        searchTerm,
      });
      const match = matchClient(clients.nodes, referral.homeowner);
      if (match) return match;
    }
    return undefined;
  }

  private async findRequest(call: JobberCall, clientId: string, routingId: string): Promise<string | null> {
    const reference = routingReference(routingId);
    let after: string | null = null;
    for (let page = 0; page < MAX_REQUEST_PAGES; page++) {
      const data: {
        client: {
          requests: {
            nodes: { id: string; title: string | null }[];
            pageInfo: { hasNextPage: boolean; endCursor: string | null };
          };
        } | null;
      } = await this.client.query(call, CLIENT_REQUESTS, { clientId, after });
      const requests = data.client?.requests;
      const match = requests?.nodes.find((r) => r.title?.endsWith(reference));
      if (match) return match.id;
      if (!requests?.pageInfo.hasNextPage) return null;
      after = requests.pageInfo.endCursor;
    }
    return null;
  }

  private async createClient(call: JobberCall, referral: Referral): Promise<{ clientId: string; propertyId: string }> {
    const payload = await this.client.query<{
      clientCreate: {
        client: { id: string; clientProperties: { nodes: { id: string }[] } } | null;
        userErrors: UserError[];
      };
    }>(call, CREATE_CLIENT, { input: clientCreateInput(referral) });
    const client = mutationResult('clientCreate', payload.clientCreate, 'client');
    const propertyId = client.clientProperties.nodes[0]?.id;
    if (!propertyId) throw invalidResponse('clientCreate returned no property');
    return { clientId: client.id, propertyId };
  }

  private async createProperty(call: JobberCall, clientId: string, referral: Referral): Promise<string> {
    const payload = await this.client.query<{
      propertyCreate: { properties: { id: string }[] | null; userErrors: UserError[] };
    }>(call, CREATE_PROPERTY, { clientId, input: { properties: [{ address: addressInput(referral.address) }] } });
    const properties = mutationResult('propertyCreate', payload.propertyCreate, 'properties');
    if (!properties[0]) throw invalidResponse('propertyCreate returned no property');
    return properties[0].id;
  }

  /** `requestCreate` needs the account's request form (2022-03-10 schema); it rarely changes, so it is cached. */
  private async requestFormId(call: JobberCall): Promise<string> {
    const key = call.credentials.accountId ?? call.credentials.refreshToken;
    const cached = this.forms.get(key);
    if (cached && cached.until > Date.now()) return cached.id;
    const { requestSettings } = await this.client.query<{
      requestSettings: { forms: { nodes: { id: string }[] } } | null;
    }>(call, REQUEST_FORM);
    const id = requestSettings?.forms.nodes[0]?.id;
    if (!id) throw invalidResponse('the account has no request form');
    this.forms.set(key, { id, until: Date.now() + FORM_CACHE_MS });
    return id;
  }
}

/** A mutation's payload: its userErrors are permanent (SPEC section 4), else the created object. */
function mutationResult<P extends { userErrors: UserError[] }, K extends Exclude<keyof P, 'userErrors'>>(
  mutation: string,
  payload: P,
  field: K,
): NonNullable<P[K]> {
  if (payload.userErrors.length) {
    throw new ProviderError({
      code: 'INVALID',
      retryable: false,
      providerMessage: `${mutation}: ${payload.userErrors.map((e) => e.message).join('; ')}`,
    });
  }
  const result = payload[field];
  if (!result) throw invalidResponse(`${mutation} returned no ${String(field)}`);
  return result;
}

function invalidResponse(message: string): ProviderError {
  return new ProviderError({ code: 'UNKNOWN', retryable: false, providerMessage: message });
}
