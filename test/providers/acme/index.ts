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
import {
  ProviderDefinition,
  credentialString,
  providerSettingsToken,
} from '../../../src/providers/provider-definition';
import { joinUrl, sendProviderRequest } from '../../../src/providers/provider-http';

// The client's own view of Acme's payloads: it shares no type with the test server that fakes Acme.
interface AcmeLeadPayload {
  id: string;
  reference: string;
  state: string;
  doneAt: string | null;
  amountCents: number | null;
}

const acmeCredentials = z.strictObject({ apiToken: credentialString() });
type AcmeCredentials = z.infer<typeof acmeCredentials>;
interface AcmeSettings {
  apiUrl: string;
  requestTimeoutMs: number;
}

const STATUS: Record<string, ReferralStatus['status']> = {
  open: 'received',
  booked: 'scheduled',
  done: 'completed',
  dropped: 'canceled',
};

@Injectable()
class AcmeProvider implements FieldServiceProvider<AcmeCredentials> {
  constructor(@Inject(providerSettingsToken('acme')) private readonly settings: AcmeSettings) {}

  async createReferral(params: {
    credentials: AcmeCredentials;
    referral: Referral;
    mayAlreadyExist: boolean;
    hooks?: ProviderCallHooks;
  }): Promise<CreatedReferral> {
    const { referral } = params;
    if (params.mayAlreadyExist) {
      const found = await this.call<{ leads: AcmeLeadPayload[] }>(
        params,
        'GET',
        `/leads?reference=${referral.routingId}`,
      );
      if (found.leads[0]) return { externalId: found.leads[0].id, created: false };
    }
    const lead = await this.call<AcmeLeadPayload>(params, 'POST', '/leads', {
      reference: referral.routingId,
      customer: `${referral.homeowner.firstName} ${referral.homeowner.lastName}`,
    });
    return { externalId: lead.id, created: true };
  }

  async getStatuses(params: {
    credentials: AcmeCredentials;
    queries: StatusQuery[];
    hooks?: ProviderCallHooks;
  }): Promise<ReferralStatus[]> {
    const ids = params.queries.map((q) => q.externalId).join(',');
    const { leads } = await this.call<{ leads: AcmeLeadPayload[] }>(params, 'GET', `/leads?ids=${ids}`);
    return params.queries.flatMap((q) => {
      const lead = leads.find((l) => l.id === q.externalId);
      if (!lead) return [];
      return [
        {
          ...q,
          status: STATUS[lead.state],
          rawStatus: lead.state,
          completedAt: lead.doneAt ? new Date(lead.doneAt) : null,
          revenueCents: lead.amountCents,
        },
      ];
    });
  }

  private call<T>(
    params: { credentials: AcmeCredentials; hooks?: ProviderCallHooks },
    method: 'GET' | 'POST',
    path: string,
    json?: unknown,
  ): Promise<T> {
    return sendProviderRequest<T>({
      method,
      url: joinUrl(this.settings.apiUrl, path),
      headers: { 'X-Api-Token': params.credentials.apiToken },
      json,
      timeoutMs: this.settings.requestTimeoutMs,
      hooks: params.hooks,
      createsRecord: method === 'POST',
    });
  }
}

/** A provider defined entirely outside src/: its folder, and one `registerProvider(acme)` line in the test. */
export const acme: ProviderDefinition<AcmeCredentials, AcmeSettings> = {
  type: 'acme',
  displayName: 'Acme FSM',
  connect: 'credentials',
  credentials: acmeCredentials,
  rateLimit: { perMinute: 1000, perHour: 10000, burst: 50 },
  env: { ACME_API_URL: z.url() },
  settings: ({ env, requestTimeoutMs }) => ({ apiUrl: env.ACME_API_URL as string, requestTimeoutMs }),
  strategy: AcmeProvider,
};
