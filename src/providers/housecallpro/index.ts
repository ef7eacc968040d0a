import { z } from 'zod/v4';

import { ProviderDefinition, credentialString } from '../provider-definition';
import { HousecallProClient } from './housecallpro.client';
import { HousecallProProvider } from './housecallpro.provider';
import { housecallProWebhooks } from './housecallpro.webhooks';

export interface HousecallProSettings {
  apiUrl: string;
  requestTimeoutMs: number;
}

/** A company API key (`Authorization: Token <key>`, providers.md 2.1). */
export const housecallProCredentials = z.strictObject({ apiKey: credentialString() });
export type HousecallProCredentials = z.infer<typeof housecallProCredentials>;

export const housecallPro: ProviderDefinition<HousecallProCredentials, HousecallProSettings> = {
  type: 'housecallpro',
  displayName: 'Housecall Pro',
  connect: 'credentials',
  credentials: housecallProCredentials,
  // Housecall Pro publishes no limits (providers.md 2.4).
  rateLimit: { perMinute: 120, perHour: 7200, burst: 20 },
  env: { HOUSECALLPRO_API_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional() },
  settings: ({ env, sandboxUrl, requestTimeoutMs }) => ({
    apiUrl: (env.HOUSECALLPRO_API_URL as string | undefined) ?? sandboxUrl ?? 'https://api.housecallpro.com',
    requestTimeoutMs,
  }),
  webhooks: housecallProWebhooks,
  strategy: HousecallProProvider,
  injectables: [HousecallProClient],
};
