import type { Provider, Type } from '@nestjs/common';
import { z } from 'zod/v4';

import type { FieldServiceProvider } from './field-service-provider';

export interface RateLimit {
  perMinute: number;
  perHour: number;
  burst: number;
}

/** What a provider's settings factory gets: its own validated environment variables and the shared knobs. */
export interface ProviderSettingsContext {
  env: Record<string, unknown>;
  /** The embedded sandbox's URL when SANDBOX is on; the provider's hosts default to it then. */
  sandboxUrl?: string;
  requestTimeoutMs: number;
}

/** A record a provider webhook names that is not the one a routing tracks (a job, a visit, an invoice). */
export interface WebhookItem {
  type: string;
  id: string;
}

/**
 * One event of a provider webhook, as the provider's parser reads it (SPEC section 10). A hint that something
 * changed, never the status itself: the service re-reads the status from the provider.
 */
export type WebhookEvent =
  | {
      kind: 'changed';
      /** The provider's event name (Jobber topic, Housecall Pro event, ServiceTitan eventType). */
      topic: string;
      /** The same for every delivery of this event, different for another event: what duplicates are found by. */
      key: string;
      /** App-level webhooks: the provider account, which finds the connection (connections.external_account_id). */
      accountId?: string;
      /** What changed: the record a routing tracks (routing.externalId), or another the provider can map to it. */
      record: { externalId: string } | { item: WebhookItem };
    }
  | { kind: 'disconnected'; topic: string; key: string; accountId: string }
  | { kind: 'ignored'; topic: string };

/** How a provider's webhooks reach the service (`/api/webhooks/{type}...`) and what they say. */
export interface ProviderWebhooks<Settings = unknown> {
  /**
   * `connection`: one URL per connection, `/api/webhooks/{type}/{connectionId}/{token}` (the connection's
   * `webhookUrl`), authenticated by its secret token. `app`: one URL for every account of the app,
   * `/api/webhooks/{type}`, authenticated by `verify`; the events name their account.
   */
  readonly receiver: 'connection' | 'app';
  /** `app` receivers: whether the request is genuine (a signature over the raw body, compared in constant time). */
  verify?(request: {
    rawBody: Buffer;
    headers: Record<string, string | string[] | undefined>;
    settings: Settings;
  }): boolean;
  /** The events of a JSON body; a body of no known shape or an unknown event is `ignored`, never an error. */
  parse(body: unknown): WebhookEvent[];
}

/**
 * Everything the service knows about one field-service provider, exported by its folder and registered by one
 * line in provider-catalog.ts. Config, request validation, the OpenAPI document, rate limits and the database
 * all derive the list of providers from these definitions.
 */
export interface ProviderDefinition<Credentials extends object = object, Settings = unknown> {
  /** The type name used in the API, the database and config (e.g. `RATE_LIMITS` keys). Lowercase letters. */
  readonly type: string;
  readonly displayName: string;
  /** `credentials`: an admin pastes them into the company; `oauth`: the company connects through an OAuth flow. */
  readonly connect: 'credentials' | 'oauth';
  /** The stored credentials (what an admin sends for a `credentials` provider); validated on write and on use. */
  readonly credentials: z.ZodType<Credentials>;
  readonly rateLimit: RateLimit;
  /** Environment variables this provider reads, validated at boot with the rest of the configuration. */
  readonly env?: Record<string, z.ZodType>;
  /** The provider's settings, built once at boot and injectable with `providerSettingsToken(type)`. */
  settings?(context: ProviderSettingsContext): Settings;
  /** Inbound webhooks, for providers that send them (SPEC section 10). */
  readonly webhooks?: ProviderWebhooks<Settings>;
  /** The strategy (a Nest injectable) and the classes it injects, such as its HTTP client. */
  readonly strategy: Type<FieldServiceProvider<Credentials>>;
  readonly injectables?: Provider[];
}

export function providerSettingsToken(type: string): string {
  return `provider-settings:${type}`;
}

// C0 controls including tab, CR and LF, and DEL: a credential never contains them, and a header built from one
// that did could be split (CR/LF).
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** A required credential string: trimmed, non-empty, bounded, without control characters. */
export function credentialString(maxLength = 500) {
  return z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
    .trim()
    .min(1, { error: 'is required' })
    .max(maxLength, { error: `must be at most ${maxLength} characters` })
    .refine((v) => !CONTROL_CHARS.test(v), { error: 'must not contain control characters' });
}

/** An integer id given as digits or as a non-negative safe integer; kept as a string. */
export function credentialIntegerId() {
  return z
    .union(
      [
        z
          .string()
          .trim()
          .regex(/^\d{1,18}$/),
        z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
      ],
      {
        error: (issue) => (issue.input === undefined ? 'is required' : 'must be an integer id (digits only)'),
      },
    )
    .transform(String);
}
