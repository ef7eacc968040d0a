import { z } from 'zod/v4';

import { ProviderDefinition, credentialIntegerId, credentialString } from '../provider-definition';
import { ServiceTitanClient } from './servicetitan.client';
import { ServiceTitanProvider } from './servicetitan.provider';
import { serviceTitanWebhooks } from './servicetitan.webhooks';

export interface ServiceTitanSettings {
  authUrl: string;
  apiUrl: string;
  appKey: string;
  requestTimeoutMs: number;
}

/** Per-tenant client credentials plus the booking provider tag the tenant chose (providers.md 1.1, 1.2 A). */
export const serviceTitanCredentials = z.strictObject({
  tenantId: credentialIntegerId(),
  clientId: credentialString(),
  clientSecret: credentialString(),
  bookingProviderId: credentialIntegerId(),
});
export type ServiceTitanCredentials = z.infer<typeof serviceTitanCredentials>;

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

export const serviceTitan: ProviderDefinition<ServiceTitanCredentials, ServiceTitanSettings> = {
  type: 'servicetitan',
  displayName: 'ServiceTitan',
  connect: 'credentials',
  credentials: serviceTitanCredentials,
  // ServiceTitan documents 60 calls/s per tenant; these defaults are deliberately conservative (SPEC section 6).
  rateLimit: { perMinute: 60, perHour: 3600, burst: 10 },
  env: {
    SERVICETITAN_AUTH_URL: httpUrl.optional(),
    SERVICETITAN_API_URL: httpUrl.optional(),
    SERVICETITAN_APP_KEY: z.string().min(1).optional(),
  },
  settings: ({ env, sandboxUrl, requestTimeoutMs }) => ({
    authUrl: (env.SERVICETITAN_AUTH_URL as string | undefined) ?? sandboxUrl ?? 'https://auth.servicetitan.io',
    apiUrl: (env.SERVICETITAN_API_URL as string | undefined) ?? sandboxUrl ?? 'https://api.servicetitan.io',
    appKey: (env.SERVICETITAN_APP_KEY as string | undefined) ?? (sandboxUrl ? 'sandbox-app-key' : ''),
    requestTimeoutMs,
  }),
  webhooks: serviceTitanWebhooks,
  strategy: ServiceTitanProvider,
  injectables: [ServiceTitanClient],
};
