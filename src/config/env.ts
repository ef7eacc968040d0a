import { z } from 'zod/v4';

import { providerCatalog } from '../providers/provider-catalog';
import { RateLimit } from '../providers/provider-definition';
import { APP_MODES } from './app-mode';

// The dev admin key is public by design: it only exists outside production, with a warning at boot.
export const DEV_ADMIN_API_KEY = 'te_dev_admin_key_change_me';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const url = (protocols: string[]) =>
  z.url({
    protocol: new RegExp(`^(${protocols.join('|')})$`),
    error: `must be a URL starting with ${protocols.join(' or ')}://`,
  });
const cron = z
  .string()
  .refine((v) => v.trim().split(/\s+/).length >= 5 && v.trim().split(/\s+/).length <= 6, 'must be a cron expression');

const rateLimit = z.strictObject({
  perMinute: z.number().int().positive(),
  perHour: z.number().int().positive(),
  burst: z.number().int().positive(),
});

/** `RATE_LIMITS`: a JSON object of partial overrides keyed by provider type, merged over each provider's defaults. */
function rateLimits() {
  const providers = providerCatalog.all();
  return z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be JSON' });
        return z.NEVER;
      }
    })
    .pipe(z.strictObject(Object.fromEntries(providers.map((p) => [p.type, rateLimit.partial().optional()]))))
    .transform((overrides): Record<string, RateLimit> =>
      Object.fromEntries(providers.map((p) => [p.type, { ...p.rateLimit, ...overrides[p.type] }])),
    );
}

/** A comma-separated list of delays in ms, e.g. `5000,300000`. */
const delays = z
  .string()
  .regex(/^\s*\d+(\s*,\s*\d+)*\s*$/, 'must be a comma-separated list of milliseconds')
  .transform((v) => v.split(',').map((d) => Number(d.trim())))
  .refine(
    (list) => list.length <= 50 && list.every((d) => d <= 30 * 86_400_000),
    'at most 50 delays of at most 30 days',
  );

/** The trade taxonomy: jobs and companies may only name these (README "Trades"). */
export const DEFAULT_TRADES = [
  'plumbing',
  'electrical',
  'hvac',
  'roofing',
  'landscaping',
  'pest_control',
  'painting',
  'flooring',
  'handyman',
  'appliance_repair',
  'garage_door',
  'cleaning',
  'pool_spa',
  'solar',
] as const;

const trades = z
  .string()
  .transform((text) => [...new Set(text.split(',').map((t) => t.trim().toLowerCase()))].filter(Boolean))
  .pipe(
    z
      .array(
        z
          .string()
          .regex(/^[a-z0-9]+(?:[_-][a-z0-9]+)*$/, 'must be lower-case slugs (a-z, 0-9, _ or -)')
          .max(50),
      )
      .min(1, 'must name at least one trade')
      .max(200),
  );

const credentialsKey = z
  .string()
  .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be a base64-encoded 32-byte key');

// 32 random bytes show ~30 distinct values (fewer than 16 has a probability far below 1e-12); a key typed by
// hand or padded (all zeros, a repeated word) shows a handful.
const MIN_DISTINCT_KEY_BYTES = 16;
// Production admin keys: 32 characters is 192 bits of base64url, or 128 of hex.
const MIN_PRODUCTION_ADMIN_KEY_LENGTH = 32;

// Express's `trust proxy`: a number of hops, or a comma-separated list of proxy addresses or subnets.
const trustProxy = z
  .string()
  .regex(
    /^(\d{1,2}|[\w.:/]+(\s*,\s*[\w.:/]+)*)$/,
    'must be a number of proxy hops or a comma-separated list of addresses',
  )
  .transform((v) => (/^\d+$/.test(v) ? Number(v) : v));

/**
 * Every environment variable the service reads (SPEC section 2), validated once at boot. Built when parsed, so
 * each registered provider's own variables and rate-limit defaults are part of it.
 */
export function envSchema() {
  const providerEnv = Object.assign({}, ...providerCatalog.all().map((p) => p.env ?? {})) as Record<string, z.ZodType>;
  return z
    .object({
      NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
      APP_MODE: z.enum(APP_MODES).default('all'),
      PORT: int(0, 65535).default(3000),
      DATABASE_URL: url(['postgres', 'postgresql']).default('postgres://postgres@127.0.0.1:5432/tradeengage'),
      REDIS_URL: url(['redis', 'rediss']).default('redis://127.0.0.1:6379'),
      RUN_MIGRATIONS: bool.optional(),
      ADMIN_API_KEY: z.string().min(16).max(200).optional(),
      CREDENTIALS_KEY: credentialsKey.optional(),
      SANDBOX: bool.optional(),
      SANDBOX_PORT: int(0, 65535).default(4010),
      PUBLIC_BASE_URL: url(['http', 'https']).optional(),
      PROVIDER_TIMEOUT_MS: int(100, 300_000).default(15_000),
      SYNC_CRON: cron.default('*/5 * * * *'),
      POLL_CRON: cron.default('*/30 * * * *'),
      RETRY_CRON: cron.default('*/15 * * * *'),
      CLEANUP_CRON: cron.default('0 2 * * *'),
      WEBHOOK_SWEEP_CRON: cron.default('* * * * *'),
      SYNC_BATCH_SIZE: int(1, 10_000).default(50),
      POLL_BATCH_SIZE: int(1, 10_000).default(100),
      RETRY_BATCH_SIZE: int(1, 10_000).default(25),
      SYNC_CONCURRENCY: int(1, 500).default(10),
      POLL_CONCURRENCY: int(1, 100).default(2),
      PROVIDER_WEBHOOK_CONCURRENCY: int(1, 200).default(10),
      MAX_SYNC_ATTEMPTS: int(1, 100).default(3),
      SYNC_JOB_TIMEOUT_MS: int(1000).default(30 * 60_000),
      RETRY_BASE_DELAY_MS: int(0).default(60_000),
      RETRY_MAX_DELAY_MS: int(0).default(3_600_000),
      ARCHIVE_AFTER_DAYS: int(0, 36_500).default(90),
      AUDIT_RETENTION_DAYS: int(1, 36_500).default(400),
      RATE_LIMITS: rateLimits().default(() => rateLimits().parse('{}')),
      API_RATE_LIMIT_PER_MINUTE: int(1).default(600),
      WEBHOOK_RETRY_DELAYS_MS: delays.default(() =>
        delays.parse('5000,300000,1800000,7200000,18000000,36000000,36000000'),
      ),
      WEBHOOK_TIMEOUT_MS: int(100, 300_000).default(10_000),
      WEBHOOK_ALLOW_PRIVATE_URLS: bool.optional(),
      WEBHOOK_CONCURRENCY: int(1, 500).default(20),
      TRADES: trades.default(() => [...DEFAULT_TRADES]),
      AUTH_FAILURE_LIMIT_PER_MINUTE: int(1).default(10),
      TRUST_PROXY: trustProxy.optional(),
      SHUTDOWN_TIMEOUT_MS: int(1000, 600_000).default(25_000),
      CIRCUIT_FAILURE_THRESHOLD: int(1, 1000).default(5),
      CIRCUIT_OPEN_MS: int(1000, 86_400_000).default(60_000),
      LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      ...providerEnv,
    })
    .superRefine((env, ctx) => {
      if (env.NODE_ENV === 'production') {
        for (const name of ['ADMIN_API_KEY', 'CREDENTIALS_KEY'] as const) {
          if (!env[name]) ctx.addIssue({ code: 'custom', path: [name], message: 'is required in production' });
        }
        for (const problem of productionKeyProblems(env)) ctx.addIssue({ code: 'custom', ...problem });
      }
      if (env.RETRY_MAX_DELAY_MS < env.RETRY_BASE_DELAY_MS) {
        ctx.addIssue({ code: 'custom', path: ['RETRY_MAX_DELAY_MS'], message: 'must be >= RETRY_BASE_DELAY_MS' });
      }
    });
}

export type Env = z.infer<ReturnType<typeof envSchema>>;

/** Keys production refuses although they are well-formed. Messages name the variable, never its value. */
function productionKeyProblems(env: { ADMIN_API_KEY?: string; CREDENTIALS_KEY?: string }) {
  const problems: { path: string[]; message: string }[] = [];
  if (env.ADMIN_API_KEY === DEV_ADMIN_API_KEY) {
    problems.push({
      path: ['ADMIN_API_KEY'],
      message: 'is the public development key; generate a secret one (openssl rand -hex 24)',
    });
  } else if (env.ADMIN_API_KEY && env.ADMIN_API_KEY.length < MIN_PRODUCTION_ADMIN_KEY_LENGTH) {
    problems.push({
      path: ['ADMIN_API_KEY'],
      message: `must be at least ${MIN_PRODUCTION_ADMIN_KEY_LENGTH} characters in production (openssl rand -hex 24)`,
    });
  }
  if (env.CREDENTIALS_KEY) {
    const distinct = new Set(Buffer.from(env.CREDENTIALS_KEY, 'base64')).size;
    if (distinct < MIN_DISTINCT_KEY_BYTES) {
      problems.push({
        path: ['CREDENTIALS_KEY'],
        message: `has too little entropy (${distinct} distinct byte values); generate one with openssl rand -base64 32`,
      });
    }
  }
  return problems;
}

export class InvalidEnvironmentError extends Error {}

export function parseEnv(source: Record<string, string | undefined>): Env {
  // Empty strings mean "unset", as in most .env tooling.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const result = envSchema().safeParse(cleaned);
  if (!result.success) {
    // zod's own messages can quote the input; ours never echo a value, so secrets stay out of logs.
    const lines = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new InvalidEnvironmentError(`Invalid environment variables:\n  ${lines.join('\n  ')}`);
  }
  return result.data;
}
