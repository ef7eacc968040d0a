import { createHash } from 'node:crypto';

import { providerCatalog } from '../providers/provider-catalog';
import { RateLimit } from '../providers/provider-definition';
import { AppMode, runsApi } from './app-mode';
import { DEV_ADMIN_API_KEY, Env, parseEnv } from './env';

/** The validated configuration, with the defaults that depend on other variables resolved. */
export class AppConfig {
  readonly mode: AppMode;
  readonly production: boolean;
  readonly port: number;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly runMigrations: boolean;
  readonly adminApiKey: string;
  readonly usingDevAdminKey: boolean;
  readonly credentialsKey: Buffer;
  readonly usingDevCredentialsKey: boolean;
  /** Providers point at the provider sandbox (SANDBOX). */
  readonly sandbox: boolean;
  /**
   * This process starts the embedded sandbox: the one that serves the API (`api` or `all`). A `worker` uses the
   * sandbox of the API process on SANDBOX_PORT, so an api and a worker on one machine do not both bind the port.
   */
  readonly startsSandbox: boolean;
  readonly sandboxPort: number;
  /** The service's public URL: OAuth redirects and inbound webhook URLs are built from it. */
  readonly publicBaseUrl: string;
  readonly providerTimeoutMs: number;
  readonly cron: { sync: string; poll: string; retry: string; cleanup: string; webhooks: string };
  readonly batchSize: { sync: number; poll: number; retry: number };
  /** Jobs one worker process runs at once: sync attempts, poll jobs, inbound provider webhook status reads. */
  readonly concurrency: { sync: number; poll: number; providerWebhooks: number };
  readonly maxSyncAttempts: number;
  /** The task time limit of one sync job (SPEC section 7). */
  readonly syncJobTimeoutMs: number;
  /** A routing still `syncing` after this long was abandoned by a dead worker; cleanup returns it to `failed`. */
  readonly syncStaleAfterMs: number;
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
  readonly archiveAfterDays: number;
  /** Audit events are kept at least this long; the cleanup sweep purges older ones. */
  readonly auditRetentionDays: number;
  readonly rateLimits: Record<string, RateLimit>;
  readonly apiRateLimitPerMinute: number;
  /** Outbound webhooks (SPEC section 11). */
  readonly webhooks: {
    /** Delay after each failed attempt; a delivery gets one attempt more than there are delays. */
    retryDelaysMs: number[];
    timeoutMs: number;
    allowPrivateUrls: boolean;
    concurrency: number;
  };
  /** The trades jobs and companies may name (`TRADES`). */
  readonly trades: readonly string[];
  /** Failed authentications one client address may make per minute before it gets 429. */
  readonly authFailureLimitPerMinute: number;
  /** Express's `trust proxy`: which X-Forwarded-For hops to believe for the client address. */
  readonly trustProxy: number | string | false;
  readonly logLevel: string;
  /** The longest a SIGTERM drain may take before the process exits anyway. */
  readonly shutdownTimeoutMs: number;
  readonly circuit: { failureThreshold: number; openMs: number };
  private readonly providerSettingsByType: Map<string, unknown>;

  constructor(env: Env, options: { sandboxUrl?: string } = {}) {
    this.mode = env.APP_MODE;
    this.production = env.NODE_ENV === 'production';
    this.port = env.PORT;
    this.databaseUrl = env.DATABASE_URL;
    this.redisUrl = env.REDIS_URL;
    this.runMigrations = env.RUN_MIGRATIONS ?? !this.production;
    this.adminApiKey = env.ADMIN_API_KEY ?? DEV_ADMIN_API_KEY;
    this.usingDevAdminKey = !env.ADMIN_API_KEY;
    // Outside production a fixed, derived key keeps dev data readable across restarts.
    this.credentialsKey = env.CREDENTIALS_KEY
      ? Buffer.from(env.CREDENTIALS_KEY, 'base64')
      : createHash('sha256').update('tradeengage-dev-credentials-key').digest();
    this.usingDevCredentialsKey = !env.CREDENTIALS_KEY;
    this.sandbox = env.SANDBOX ?? !this.production;
    this.startsSandbox = this.sandbox && runsApi(this.mode);
    this.sandboxPort = env.SANDBOX_PORT;
    this.publicBaseUrl = (env.PUBLIC_BASE_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, '');
    this.providerTimeoutMs = env.PROVIDER_TIMEOUT_MS;
    // Each provider builds its settings from its own variables; with the sandbox on, its hosts default to it.
    const sandboxUrl = this.sandbox ? (options.sandboxUrl ?? `http://127.0.0.1:${env.SANDBOX_PORT}`) : undefined;
    this.providerSettingsByType = new Map(
      providerCatalog
        .all()
        .map((p) => [
          p.type,
          p.settings?.({ env: env as Record<string, unknown>, sandboxUrl, requestTimeoutMs: env.PROVIDER_TIMEOUT_MS }),
        ]),
    );
    this.cron = {
      sync: env.SYNC_CRON,
      poll: env.POLL_CRON,
      retry: env.RETRY_CRON,
      cleanup: env.CLEANUP_CRON,
      webhooks: env.WEBHOOK_SWEEP_CRON,
    };
    this.batchSize = { sync: env.SYNC_BATCH_SIZE, poll: env.POLL_BATCH_SIZE, retry: env.RETRY_BATCH_SIZE };
    this.concurrency = {
      sync: env.SYNC_CONCURRENCY,
      poll: env.POLL_CONCURRENCY,
      providerWebhooks: env.PROVIDER_WEBHOOK_CONCURRENCY,
    };
    this.maxSyncAttempts = env.MAX_SYNC_ATTEMPTS;
    this.syncJobTimeoutMs = env.SYNC_JOB_TIMEOUT_MS;
    // Past the job's own limit plus a last provider request, no live worker can still hold the claim.
    this.syncStaleAfterMs = env.SYNC_JOB_TIMEOUT_MS + 2 * env.PROVIDER_TIMEOUT_MS;
    this.retryBaseDelayMs = env.RETRY_BASE_DELAY_MS;
    this.retryMaxDelayMs = env.RETRY_MAX_DELAY_MS;
    this.archiveAfterDays = env.ARCHIVE_AFTER_DAYS;
    this.auditRetentionDays = env.AUDIT_RETENTION_DAYS;
    this.rateLimits = env.RATE_LIMITS;
    this.apiRateLimitPerMinute = env.API_RATE_LIMIT_PER_MINUTE;
    this.webhooks = {
      retryDelaysMs: env.WEBHOOK_RETRY_DELAYS_MS,
      timeoutMs: env.WEBHOOK_TIMEOUT_MS,
      allowPrivateUrls: env.WEBHOOK_ALLOW_PRIVATE_URLS ?? !this.production,
      concurrency: env.WEBHOOK_CONCURRENCY,
    };
    this.trades = env.TRADES;
    this.authFailureLimitPerMinute = env.AUTH_FAILURE_LIMIT_PER_MINUTE;
    this.trustProxy = env.TRUST_PROXY ?? false;
    this.logLevel = env.LOG_LEVEL;
    this.shutdownTimeoutMs = env.SHUTDOWN_TIMEOUT_MS;
    this.circuit = { failureThreshold: env.CIRCUIT_FAILURE_THRESHOLD, openMs: env.CIRCUIT_OPEN_MS };
  }

  /** A provider's settings, as its definition built them from the environment. */
  providerSettings<T>(type: string): T {
    return this.providerSettingsByType.get(type) as T;
  }

  rateLimitFor(type: string): RateLimit {
    return this.rateLimits[type];
  }

  /** The only place that reads process.env. */
  static fromProcessEnv(options: { sandboxUrl?: string } = {}): AppConfig {
    return new AppConfig(parseEnv(process.env), options);
  }

  static from(vars: Record<string, string | undefined>, options: { sandboxUrl?: string } = {}): AppConfig {
    return new AppConfig(parseEnv(vars), options);
  }
}
