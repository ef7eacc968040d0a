import { z } from 'zod/v4';

import { ProviderDefinition, credentialString } from '../provider-definition';
import { JobberClient } from './jobber.client';
import { JobberProvider } from './jobber.provider';
import { jobberWebhooks } from './jobber.webhooks';

export interface JobberSettings {
  apiUrl: string;
  clientId: string;
  clientSecret: string;
  graphqlVersion: string;
  requestTimeoutMs: number;
}

/** What a Jobber connection stores: OAuth tokens from the authorization-code flow, rotated on every refresh. */
export const jobberCredentials = z.strictObject({
  accessToken: credentialString(8000),
  refreshToken: credentialString(2000),
  /** Epoch ms, from the access token's JWT `exp`. */
  accessTokenExpiresAt: z.number().int().positive(),
  /** Epoch ms, from its `iat`: the refresh margin is a tenth of the lifetime (at most 60 s). */
  accessTokenIssuedAt: z.number().int().positive(),
  /** The Jobber account (also the connection's `external_account_id`). */
  accountId: z.string().optional(),
});
export type JobberCredentials = z.infer<typeof jobberCredentials>;

const SANDBOX_APP = { clientId: 'sandbox-jobber-client-id', clientSecret: 'sandbox-jobber-client-secret' };

export const jobber: ProviderDefinition<JobberCredentials, JobberSettings> = {
  type: 'jobber',
  displayName: 'Jobber',
  connect: 'oauth',
  credentials: jobberCredentials,
  // Jobber allows 2,500 requests per 300 s per account (providers.md 3.4); at most 500 in any sliding minute can
  // never exceed that in any 300 s, at the price of smaller bursts. The query-cost budget is tracked besides.
  rateLimit: { perMinute: 500, perHour: 30_000, burst: 50 },
  env: {
    JOBBER_CLIENT_ID: z.string().min(1).optional(),
    JOBBER_CLIENT_SECRET: z.string().min(1).optional(),
    JOBBER_API_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
    JOBBER_GRAPHQL_VERSION: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'must be a version date, YYYY-MM-DD' })
      .default('2022-03-10'),
  },
  settings: ({ env, sandboxUrl, requestTimeoutMs }) => ({
    apiUrl: (env.JOBBER_API_URL as string | undefined) ?? sandboxUrl ?? 'https://api.getjobber.com',
    clientId: (env.JOBBER_CLIENT_ID as string | undefined) ?? (sandboxUrl ? SANDBOX_APP.clientId : ''),
    clientSecret: (env.JOBBER_CLIENT_SECRET as string | undefined) ?? (sandboxUrl ? SANDBOX_APP.clientSecret : ''),
    graphqlVersion: env.JOBBER_GRAPHQL_VERSION as string,
    requestTimeoutMs,
  }),
  webhooks: jobberWebhooks,
  strategy: JobberProvider,
  injectables: [JobberClient],
};
