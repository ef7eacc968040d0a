import { createHash } from 'node:crypto';

import { ProviderSettings } from '../providers/provider-settings';
import { AppMode } from './app-mode';
import { DEV_ADMIN_API_KEY, Env, RateLimit, parseEnv } from './env';

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
  readonly sandbox: boolean;
  readonly sandboxPort: number;
  readonly providers: ProviderSettings;
  readonly cron: { sync: string; poll: string; retry: string; cleanup: string };
  readonly batchSize: { sync: number; poll: number; retry: number };
  readonly concurrency: { sync: number; poll: number };
  readonly maxSyncAttempts: number;
  /** The task time limit of one sync job (SPEC section 7). */
  readonly syncJobTimeoutMs: number;
  /** A routing still `syncing` after this long was abandoned by a dead worker; cleanup returns it to `failed`. */
  readonly syncStaleAfterMs: number;
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
  readonly archiveAfterDays: number;
  readonly rateLimits: Record<'servicetitan' | 'housecallpro', RateLimit>;
  readonly apiRateLimitPerMinute: number;
  /** Failed authentications one client address may make per minute before it gets 429. */
  readonly authFailureLimitPerMinute: number;
  /** Express's `trust proxy`: which X-Forwarded-For hops to believe for the client address. */
  readonly trustProxy: number | string | false;
  readonly logLevel: string;
  /** The longest a SIGTERM drain may take before the process exits anyway. */
  readonly shutdownTimeoutMs: number;
  readonly circuit: { failureThreshold: number; openMs: number };

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
    this.sandboxPort = env.SANDBOX_PORT;
    const sandboxUrl = options.sandboxUrl ?? `http://127.0.0.1:${env.SANDBOX_PORT}`;
    const viaSandbox = (explicit: string | undefined, real: string) => explicit ?? (this.sandbox ? sandboxUrl : real);
    this.providers = {
      serviceTitanAuthUrl: viaSandbox(env.SERVICETITAN_AUTH_URL, 'https://auth.servicetitan.io'),
      serviceTitanApiUrl: viaSandbox(env.SERVICETITAN_API_URL, 'https://api.servicetitan.io'),
      serviceTitanAppKey: env.SERVICETITAN_APP_KEY ?? (this.sandbox ? 'sandbox-app-key' : ''),
      housecallProApiUrl: viaSandbox(env.HOUSECALLPRO_API_URL, 'https://api.housecallpro.com'),
      requestTimeoutMs: env.PROVIDER_TIMEOUT_MS,
    };
    this.cron = { sync: env.SYNC_CRON, poll: env.POLL_CRON, retry: env.RETRY_CRON, cleanup: env.CLEANUP_CRON };
    this.batchSize = { sync: env.SYNC_BATCH_SIZE, poll: env.POLL_BATCH_SIZE, retry: env.RETRY_BATCH_SIZE };
    this.concurrency = { sync: env.SYNC_CONCURRENCY, poll: env.POLL_CONCURRENCY };
    this.maxSyncAttempts = env.MAX_SYNC_ATTEMPTS;
    this.syncJobTimeoutMs = env.SYNC_JOB_TIMEOUT_MS;
    // Past the job's own limit plus a last provider request, no live worker can still hold the claim.
    this.syncStaleAfterMs = env.SYNC_JOB_TIMEOUT_MS + 2 * env.PROVIDER_TIMEOUT_MS;
    this.retryBaseDelayMs = env.RETRY_BASE_DELAY_MS;
    this.retryMaxDelayMs = env.RETRY_MAX_DELAY_MS;
    this.archiveAfterDays = env.ARCHIVE_AFTER_DAYS;
    this.rateLimits = env.RATE_LIMITS;
    this.apiRateLimitPerMinute = env.API_RATE_LIMIT_PER_MINUTE;
    this.authFailureLimitPerMinute = env.AUTH_FAILURE_LIMIT_PER_MINUTE;
    this.trustProxy = env.TRUST_PROXY ?? false;
    this.logLevel = env.LOG_LEVEL;
    this.shutdownTimeoutMs = env.SHUTDOWN_TIMEOUT_MS;
    this.circuit = { failureThreshold: env.CIRCUIT_FAILURE_THRESHOLD, openMs: env.CIRCUIT_OPEN_MS };
  }

  /** The only place that reads process.env. */
  static fromProcessEnv(options: { sandboxUrl?: string } = {}): AppConfig {
    return new AppConfig(parseEnv(process.env), options);
  }

  static from(vars: Record<string, string | undefined>, options: { sandboxUrl?: string } = {}): AppConfig {
    return new AppConfig(parseEnv(vars), options);
  }
}
