import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod/v4';

import {
  CreatedReferral,
  FieldServiceProvider,
  ProviderCallHooks,
  Referral,
  ReferralStatus,
  StatusQuery,
} from '../../../src/providers/field-service-provider';
import { jobberWebhooks, readReferralIds, referralLookup } from '../../../src/providers/jobber/jobber.webhooks';
import {
  ProviderDefinition,
  WebhookItem,
  credentialString,
  providerSettingsToken,
} from '../../../src/providers/provider-definition';
import { ProviderError } from '../../../src/providers/provider-error';
import { joinUrl, sendProviderRequest } from '../../../src/providers/provider-http';

/**
 * A stand-in for the Jobber provider while src/providers/jobber/ is being written: the service's real Jobber webhook
 * part (`jobberWebhooks`, `referralLookup`) behind a minimal GraphQL strategy that talks to the sandbox's Jobber over
 * HTTP with an access token obtained by the test. It only exists so the app-level receiver can be tested end to end;
 * the tests register it only when the catalog has no `jobber` provider of its own.
 */
const credentials = z.strictObject({ accessToken: credentialString(4000) });
type Credentials = z.infer<typeof credentials>;
interface Settings {
  apiUrl: string;
  clientSecret: string;
  requestTimeoutMs: number;
}

interface RequestNode {
  requestStatus: string;
  jobs: { nodes: { jobStatus: string; completedAt: string | null; total: number }[] };
}

@Injectable()
class JobberStandIn implements FieldServiceProvider<Credentials> {
  constructor(@Inject(providerSettingsToken('jobber')) private readonly settings: Settings) {}

  async createReferral(params: {
    credentials: Credentials;
    referral: Referral;
    hooks?: ProviderCallHooks;
  }): Promise<CreatedReferral> {
    const { referral } = params;
    const client = await this.gql<any>(
      params,
      `mutation ($input: ClientCreateInput!) { clientCreate(input: $input) { client { id } userErrors { message } } }`,
      {
        input: {
          firstName: referral.homeowner.firstName,
          lastName: referral.homeowner.lastName,
          emails: referral.homeowner.email
            ? [{ address: referral.homeowner.email, description: 'MAIN', primary: true }]
            : [],
          properties: [
            {
              address: {
                street1: referral.address.street,
                city: referral.address.city,
                province: referral.address.state,
                postalCode: referral.address.zip,
                country: referral.address.country,
              },
            },
          ],
        },
      },
    );
    const form = await this.gql<any>(params, `{ requestSettings { forms(first: 1) { nodes { id } } } }`);
    const created = await this.gql<any>(
      params,
      `mutation ($input: RequestCreateInput!) { requestCreate(input: $input) { request { id } userErrors { message } } }`,
      {
        input: {
          clientId: client.clientCreate.client.id,
          title: `${referral.summary} [te-routing-${referral.routingId}]`,
          customFormInput: { formId: form.requestSettings.forms.nodes[0].id },
        },
      },
      true,
    );
    return { externalId: created.requestCreate.request.id as string, created: true };
  }

  async getStatuses(params: {
    credentials: Credentials;
    queries: StatusQuery[];
    hooks?: ProviderCallHooks;
  }): Promise<ReferralStatus[]> {
    const fields = params.queries.map(
      (_, i) => `r${i}: request(id: $r${i}) { requestStatus jobs(first: 1) { nodes { jobStatus completedAt total } } }`,
    );
    const data = await this.gql<Record<string, RequestNode | null>>(
      params,
      `query (${params.queries.map((_, i) => `$r${i}: EncodedId!`).join(', ')}) { ${fields.join(' ')} }`,
      Object.fromEntries(params.queries.map((q, i) => [`r${i}`, q.externalId])),
    );
    return params.queries.flatMap((q, i) => {
      const request = data[`r${i}`];
      if (!request) return [];
      const job = request.jobs.nodes[0];
      const status: ReferralStatus['status'] = !job
        ? request.requestStatus === 'archived'
          ? 'canceled'
          : 'received'
        : job.completedAt
          ? 'completed'
          : job.jobStatus === 'on_hold'
            ? 'on_hold'
            : job.jobStatus === 'active'
              ? 'in_progress'
              : 'scheduled';
      return [
        {
          ...q,
          status,
          rawStatus: job?.jobStatus ?? request.requestStatus,
          completedAt: job?.completedAt ? new Date(job.completedAt) : null,
          revenueCents: job?.completedAt ? Math.round(job.total * 100) : null,
        },
      ];
    });
  }

  /** The hook for JOB_*, VISIT_* and INVOICE_* webhooks, through the service's own `referralLookup`. */
  async findReferralIds(params: {
    credentials: Credentials;
    items: WebhookItem[];
    hooks?: ProviderCallHooks;
  }): Promise<(string | null)[]> {
    const { query, variables } = referralLookup(params.items);
    return readReferralIds(await this.gql(params, query, variables), params.items);
  }

  private async gql<T>(
    params: { credentials: Credentials; hooks?: ProviderCallHooks },
    query: string,
    variables?: Record<string, unknown>,
    createsRecord = false,
  ): Promise<T> {
    const res = await sendProviderRequest<{ data?: T; errors?: { message: string }[] }>({
      method: 'POST',
      url: joinUrl(this.settings.apiUrl, '/api/graphql'),
      headers: {
        Authorization: `Bearer ${params.credentials.accessToken}`,
        'X-JOBBER-GRAPHQL-VERSION': '2022-03-10',
      },
      json: { query, variables },
      timeoutMs: this.settings.requestTimeoutMs,
      hooks: params.hooks,
      createsRecord,
    });
    if (res.errors?.length || !res.data) {
      throw new ProviderError({
        code: 'INVALID',
        retryable: false,
        providerMessage: res.errors?.[0]?.message ?? 'no data',
      });
    }
    return res.data;
  }
}

export const jobberStandIn: ProviderDefinition<Credentials, Settings> = {
  type: 'jobber',
  displayName: 'Jobber',
  connect: 'oauth',
  credentials,
  rateLimit: { perMinute: 1000, perHour: 10000, burst: 100 },
  env: { JOBBER_API_URL: z.url(), JOBBER_CLIENT_SECRET: z.string().min(1) },
  settings: ({ env, requestTimeoutMs }) => ({
    apiUrl: env.JOBBER_API_URL as string,
    clientSecret: env.JOBBER_CLIENT_SECRET as string,
    requestTimeoutMs,
  }),
  webhooks: jobberWebhooks,
  strategy: JobberStandIn,
};
