import { spawn } from 'node:child_process';
import { join } from 'node:path';

import type { HousecallProSettings } from '../providers/housecallpro';
import type { ServiceTitanSettings } from '../providers/servicetitan';
import { AppConfig } from './app-config';
import { DEFAULT_TRADES, DEV_ADMIN_API_KEY, InvalidEnvironmentError, parseEnv } from './env';

// A fixed key with the spread of a random one (32 distinct bytes), so runs are reproducible.
const KEY_32 = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) % 256)).toString('base64');
const ADMIN_KEY = 'te_prod_admin_key_0123456789abcdef0123';
const PRODUCTION = { NODE_ENV: 'production', ADMIN_API_KEY: ADMIN_KEY, CREDENTIALS_KEY: KEY_32 };

function parseError(vars: Record<string, string>): string {
  try {
    parseEnv(vars);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidEnvironmentError);
    return (error as Error).message;
  }
  throw new Error(`parseEnv accepted ${JSON.stringify(vars)}`);
}

describe('parseEnv', () => {
  it('applies the SPEC defaults to an empty environment', () => {
    expect(parseEnv({})).toMatchObject({
      NODE_ENV: 'development',
      APP_MODE: 'all',
      PORT: 3000,
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/tradeengage',
      REDIS_URL: 'redis://127.0.0.1:6379',
      SANDBOX_PORT: 4010,
      PROVIDER_TIMEOUT_MS: 15_000,
      SYNC_CRON: '*/5 * * * *',
      POLL_CRON: '*/30 * * * *',
      RETRY_CRON: '*/15 * * * *',
      CLEANUP_CRON: '0 2 * * *',
      SYNC_BATCH_SIZE: 50,
      POLL_BATCH_SIZE: 100,
      RETRY_BATCH_SIZE: 25,
      SYNC_CONCURRENCY: 10,
      POLL_CONCURRENCY: 2,
      MAX_SYNC_ATTEMPTS: 3,
      RETRY_BASE_DELAY_MS: 60_000,
      RETRY_MAX_DELAY_MS: 3_600_000,
      ARCHIVE_AFTER_DAYS: 90,
      AUDIT_RETENTION_DAYS: 400,
      RATE_LIMITS: {
        servicetitan: { perMinute: 60, perHour: 3600, burst: 10 },
        housecallpro: { perMinute: 120, perHour: 7200, burst: 20 },
        jobber: { perMinute: 500, perHour: 30000, burst: 50 },
      },
      API_RATE_LIMIT_PER_MINUTE: 600,
      AUTH_FAILURE_LIMIT_PER_MINUTE: 10,
      LOG_LEVEL: 'info',
      SHUTDOWN_TIMEOUT_MS: 25_000,
      CIRCUIT_FAILURE_THRESHOLD: 5,
      CIRCUIT_OPEN_MS: 60_000,
    });
  });

  it.each([
    ['PORT', '8080', 8080],
    ['PORT', '0', 0],
    ['PORT', '', 3000], // empty means unset
    ['APP_MODE', 'worker', 'worker'],
    ['DATABASE_URL', 'postgresql://u:p@db:5432/x', 'postgresql://u:p@db:5432/x'],
    ['REDIS_URL', 'rediss://cache:6380/2', 'rediss://cache:6380/2'],
    ['RUN_MIGRATIONS', '0', false],
    ['RUN_MIGRATIONS', 'true', true],
    ['SANDBOX', '1', true],
    ['SYNC_CRON', '*/10 * * * * *', '*/10 * * * * *'], // six fields: with seconds
    ['MAX_SYNC_ATTEMPTS', '1', 1],
    ['LOG_LEVEL', 'silent', 'silent'],
    ['TRUST_PROXY', '1', 1],
    ['TRUST_PROXY', 'loopback, 10.0.0.0/8', 'loopback, 10.0.0.0/8'],
    ['SHUTDOWN_TIMEOUT_MS', '5000', 5000],
    ['CIRCUIT_FAILURE_THRESHOLD', '3', 3],
    ['CIRCUIT_OPEN_MS', '30000', 30_000],
  ])('reads %s=%p as %p', (name, value, expected) => {
    expect(parseEnv({ [name]: value })[name as keyof ReturnType<typeof parseEnv>]).toEqual(expected);
  });

  it('takes the trade taxonomy from TRADES: lower-cased, trimmed, de-duplicated; the default list otherwise', () => {
    expect(parseEnv({}).TRADES).toEqual([...DEFAULT_TRADES]);
    expect(parseEnv({ TRADES: ' Plumbing, chimney_sweep ,plumbing,,' }).TRADES).toEqual(['plumbing', 'chimney_sweep']);
    expect(parseError({ TRADES: 'plumbing,heat pumps' })).toContain('TRADES.1: must be lower-case slugs');
    expect(parseError({ TRADES: ' , ' })).toContain('TRADES: must name at least one trade');
  });

  it('merges a partial RATE_LIMITS override with the defaults', () => {
    expect(parseEnv({ RATE_LIMITS: '{"servicetitan":{"perMinute":120}}' }).RATE_LIMITS).toEqual({
      servicetitan: { perMinute: 120, perHour: 3600, burst: 10 },
      housecallpro: { perMinute: 120, perHour: 7200, burst: 20 },
      jobber: { perMinute: 500, perHour: 30000, burst: 50 },
    });
  });

  it('ignores variables it does not know (process.env has many)', () => {
    expect(parseEnv({ HOME: '/root', PATH: '/usr/bin', npm_config_cache: 'x' }).PORT).toBe(3000);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['APP_MODE', 'x'],
    ['APP_MODE', 'API'],
    ['NODE_ENV', 'staging'],
    ['DATABASE_URL', 'mysql://root@127.0.0.1:3306/tradeengage'],
    ['DATABASE_URL', 'not a url'],
    ['REDIS_URL', 'http://127.0.0.1:6379'],
    ['RUN_MIGRATIONS', 'yes'],
    ['SANDBOX', 'maybe'],
    ['SANDBOX_PORT', '65536'],
    ['SERVICETITAN_API_URL', 'ftp://api.servicetitan.io'],
    ['SERVICETITAN_AUTH_URL', 'auth.servicetitan.io'],
    ['HOUSECALLPRO_API_URL', 'localhost:4010'],
    ['PROVIDER_TIMEOUT_MS', '10'],
    ['RATE_LIMITS', 'not-json'],
    ['RATE_LIMITS', '{"fieldedge":{"perMinute":10}}'],
    ['RATE_LIMITS', '{"servicetitan":{"perMinute":0}}'],
    ['RATE_LIMITS', '{"servicetitan":{"perMinute":"60"}}'],
    ['RATE_LIMITS', '[]'],
    ['CREDENTIALS_KEY', Buffer.alloc(16, 1).toString('base64')],
    ['CREDENTIALS_KEY', 'short'],
    ['ADMIN_API_KEY', 'too-short'],
    ['MAX_SYNC_ATTEMPTS', '0'],
    ['MAX_SYNC_ATTEMPTS', '1.5'],
    ['SYNC_BATCH_SIZE', '0'],
    ['SYNC_CONCURRENCY', 'ten'],
    ['ARCHIVE_AFTER_DAYS', '-1'],
    ['AUDIT_RETENTION_DAYS', '0'],
    ['AUDIT_RETENTION_DAYS', '400.5'],
    ['API_RATE_LIMIT_PER_MINUTE', '0'],
    ['SYNC_CRON', '* * *'],
    ['POLL_CRON', '1 2 3 4 5 6 7'],
    ['RETRY_CRON', 'every minute'],
    ['CLEANUP_CRON', 'daily'],
    ['LOG_LEVEL', 'verbose'],
    ['AUTH_FAILURE_LIMIT_PER_MINUTE', '0'],
    ['TRUST_PROXY', 'yes please'],
    ['SHUTDOWN_TIMEOUT_MS', '10'],
    ['SHUTDOWN_TIMEOUT_MS', 'forever'],
    ['CIRCUIT_FAILURE_THRESHOLD', '0'],
    ['CIRCUIT_OPEN_MS', '10'],
  ])('refuses %s=%p, naming the variable', (name, value) => {
    const message = parseError({ [name]: value });
    expect(message).toMatch(/^Invalid environment variables:/);
    expect(message).toMatch(new RegExp(`^  ${name}(\\.[\\w.]+)?: `, 'm'));
    expect(message).not.toMatch(/\n\s+at /); // a message, not a stack
  });

  it('refuses RETRY_MAX_DELAY_MS below RETRY_BASE_DELAY_MS, naming it', () => {
    const message = parseError({ RETRY_BASE_DELAY_MS: '60000', RETRY_MAX_DELAY_MS: '1000' });
    expect(message).toContain('RETRY_MAX_DELAY_MS: must be >= RETRY_BASE_DELAY_MS');
  });

  it('names every bad variable at once', () => {
    const message = parseError({ PORT: 'abc', APP_MODE: 'x', MAX_SYNC_ATTEMPTS: '0' });
    for (const name of ['PORT', 'APP_MODE', 'MAX_SYNC_ATTEMPTS']) expect(message).toContain(`${name}:`);
  });

  it('never echoes a secret it refuses', () => {
    const secret = 'c2VjcmV0LXRoYXQtaXMtdG9vLXNob3J0';
    expect(parseError({ CREDENTIALS_KEY: secret })).not.toContain(secret);
    expect(parseError({ ADMIN_API_KEY: 'te_short' })).not.toContain('te_short');
  });

  it.each([
    [{ NODE_ENV: 'production' }, ['ADMIN_API_KEY', 'CREDENTIALS_KEY']],
    [{ NODE_ENV: 'production', ADMIN_API_KEY: ADMIN_KEY }, ['CREDENTIALS_KEY']],
    [{ NODE_ENV: 'production', CREDENTIALS_KEY: KEY_32 }, ['ADMIN_API_KEY']],
    [{ NODE_ENV: 'production', ADMIN_API_KEY: '', CREDENTIALS_KEY: KEY_32 }, ['ADMIN_API_KEY']],
  ])('production requires the admin and credentials keys: %p', (vars, missing) => {
    const message = parseError(vars);
    for (const name of missing) expect(message).toContain(`${name}: is required in production`);
    for (const name of ['ADMIN_API_KEY', 'CREDENTIALS_KEY'].filter((n) => !missing.includes(n)))
      expect(message).not.toContain(name);
  });

  it.each([
    [
      'the public development admin key',
      { ADMIN_API_KEY: DEV_ADMIN_API_KEY },
      'ADMIN_API_KEY: is the public development key',
    ],
    [
      'an admin key of 31 characters',
      { ADMIN_API_KEY: 'k'.repeat(31) },
      'ADMIN_API_KEY: must be at least 32 characters',
    ],
    [
      'an all-zero credentials key',
      { CREDENTIALS_KEY: Buffer.alloc(32).toString('base64') },
      'CREDENTIALS_KEY: has too little entropy',
    ],
    [
      'a credentials key of a repeated word',
      { CREDENTIALS_KEY: Buffer.from('secret'.repeat(6).slice(0, 32)).toString('base64') },
      'CREDENTIALS_KEY: has too little entropy',
    ],
  ])('production refuses %s, naming the variable and not the value', (_, vars, expected) => {
    const message = parseError({ ...PRODUCTION, ...vars });
    expect(message).toContain(expected);
    for (const value of Object.values(vars)) expect(message).not.toContain(value);
  });

  it('accepts those keys outside production, and a random key of 32 characters in production', () => {
    expect(() =>
      parseEnv({ ADMIN_API_KEY: 'k'.repeat(16), CREDENTIALS_KEY: Buffer.alloc(32).toString('base64') }),
    ).not.toThrow();
    expect(() => parseEnv({ ...PRODUCTION, ADMIN_API_KEY: 'k'.repeat(32) })).not.toThrow();
  });
});

const st = (config: AppConfig) => config.providerSettings<ServiceTitanSettings>('servicetitan');
const hcp = (config: AppConfig) => config.providerSettings<HousecallProSettings>('housecallpro');

describe('AppConfig', () => {
  it('development: migrations, the embedded sandbox and the dev keys, with the providers pointed at the sandbox', () => {
    const config = AppConfig.from({});
    expect(config).toMatchObject({
      mode: 'all',
      production: false,
      port: 3000,
      runMigrations: true,
      sandbox: true,
      sandboxPort: 4010,
      adminApiKey: DEV_ADMIN_API_KEY,
      usingDevAdminKey: true,
      usingDevCredentialsKey: true,
      publicBaseUrl: 'http://localhost:3000',
      providerTimeoutMs: 15_000,
      cron: { sync: '*/5 * * * *', poll: '*/30 * * * *', retry: '*/15 * * * *', cleanup: '0 2 * * *' },
      batchSize: { sync: 50, poll: 100, retry: 25 },
      concurrency: { sync: 10, poll: 2 },
      maxSyncAttempts: 3,
      retryBaseDelayMs: 60_000,
      retryMaxDelayMs: 3_600_000,
      archiveAfterDays: 90,
      auditRetentionDays: 400,
      apiRateLimitPerMinute: 600,
      logLevel: 'info',
    });
    expect(st(config)).toEqual({
      authUrl: 'http://127.0.0.1:4010',
      apiUrl: 'http://127.0.0.1:4010',
      appKey: 'sandbox-app-key',
      requestTimeoutMs: 15_000,
    });
    expect(hcp(config)).toEqual({ apiUrl: 'http://127.0.0.1:4010', requestTimeoutMs: 15_000 });
    expect(config.credentialsKey).toHaveLength(32);
    // The dev credentials key is stable, so dev data stays readable across restarts.
    expect(AppConfig.from({}).credentialsKey.equals(config.credentialsKey)).toBe(true);
  });

  it.each([
    ['all', {}, true],
    ['api', {}, true],
    ['worker', {}, false],
    ['all', { SANDBOX: 'false' }, false],
  ])('starts the embedded sandbox only where the API runs: %s %j', (mode, vars, starts) => {
    const config = AppConfig.from({ APP_MODE: mode, ...vars });
    expect(config.startsSandbox).toBe(starts);
    // A worker still points its providers at the sandbox (the API process's) unless SANDBOX is false.
    expect(st(config).apiUrl).toBe(config.sandbox ? 'http://127.0.0.1:4010' : 'https://api.servicetitan.io');
  });

  it('points the providers at the sandbox that actually started, and at SANDBOX_PORT otherwise', () => {
    expect(st(AppConfig.from({}, { sandboxUrl: 'http://127.0.0.1:45678' })).apiUrl).toBe('http://127.0.0.1:45678');
    expect(hcp(AppConfig.from({ SANDBOX_PORT: '4999' })).apiUrl).toBe('http://127.0.0.1:4999');
  });

  it('production: keys from the environment, no start-up migrations, no sandbox, the real provider hosts', () => {
    const config = AppConfig.from(PRODUCTION);
    expect(config).toMatchObject({
      production: true,
      runMigrations: false,
      sandbox: false,
      adminApiKey: ADMIN_KEY,
      usingDevAdminKey: false,
      usingDevCredentialsKey: false,
    });
    expect(st(config)).toMatchObject({
      authUrl: 'https://auth.servicetitan.io',
      apiUrl: 'https://api.servicetitan.io',
      appKey: '',
    });
    expect(hcp(config).apiUrl).toBe('https://api.housecallpro.com');
    expect(config.credentialsKey.equals(Buffer.from(KEY_32, 'base64'))).toBe(true);
  });

  it.each([
    ['RUN_MIGRATIONS', 'true', 'runMigrations', true],
    ['SANDBOX', 'true', 'sandbox', true],
  ])('production still honours %s=%s', (name, value, field, expected) => {
    expect(AppConfig.from({ ...PRODUCTION, [name]: value })[field as keyof AppConfig]).toBe(expected);
  });

  it.each([
    [{}, 'http://127.0.0.1:4010'],
    [{ SANDBOX: 'false' }, 'https://api.servicetitan.io'],
    [{ SERVICETITAN_API_URL: 'https://st.example.test' }, 'https://st.example.test'], // explicit wins over the sandbox
    [{ ...PRODUCTION, SANDBOX: 'true' }, 'http://127.0.0.1:4010'],
  ])('ServiceTitan API URL for %p is %s', (vars, url) => {
    expect(st(AppConfig.from(vars)).apiUrl).toBe(url);
  });

  it('keeps an explicit ST-App-Key, with or without the sandbox', () => {
    expect(st(AppConfig.from({ SERVICETITAN_APP_KEY: 'ak1.real' })).appKey).toBe('ak1.real');
    expect(st(AppConfig.from({ ...PRODUCTION, SERVICETITAN_APP_KEY: 'ak1.real' })).appKey).toBe('ak1.real');
  });

  it('outbound webhooks: the SPEC retry schedule, private URLs allowed outside production only', () => {
    expect(AppConfig.from({}).webhooks).toEqual({
      retryDelaysMs: [5000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000],
      timeoutMs: 10_000,
      allowPrivateUrls: true,
      concurrency: 20,
    });
    expect(AppConfig.from(PRODUCTION).webhooks.allowPrivateUrls).toBe(false);
    expect(AppConfig.from({ ...PRODUCTION, WEBHOOK_ALLOW_PRIVATE_URLS: 'true' }).webhooks.allowPrivateUrls).toBe(true);
    expect(AppConfig.from({ WEBHOOK_RETRY_DELAYS_MS: ' 100, 2000 ' }).webhooks.retryDelaysMs).toEqual([100, 2000]);
    expect(AppConfig.from({}).cron.webhooks).toBe('* * * * *');
    for (const bad of ['soon', '100,,200', '-5', '1.5']) {
      expect(parseError({ WEBHOOK_RETRY_DELAYS_MS: bad })).toContain('WEBHOOK_RETRY_DELAYS_MS:');
    }
    expect(parseError({ WEBHOOK_TIMEOUT_MS: '0' })).toContain('WEBHOOK_TIMEOUT_MS:');
  });

  it('builds the public base URL from PORT unless PUBLIC_BASE_URL is given', () => {
    expect(AppConfig.from({ PORT: '8080' }).publicBaseUrl).toBe('http://localhost:8080');
    expect(AppConfig.from({ PUBLIC_BASE_URL: 'https://te.example.com/' }).publicBaseUrl).toBe('https://te.example.com');
  });
});

describe('the process with a bad configuration', () => {
  // Spawns the real entry point: the error must stop it before it touches PostgreSQL, Redis or a port.
  function runMain(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const root = join(__dirname, '..', '..');
      const child = spawn(process.execPath, ['-r', 'ts-node/register', join(root, 'src', 'main.ts')], {
        cwd: root,
        env: { PATH: process.env.PATH ?? '', TS_NODE_TRANSPILE_ONLY: 'true', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  it.each([
    [{ PORT: 'abc' }, ['PORT']],
    [{ NODE_ENV: 'production' }, ['ADMIN_API_KEY', 'CREDENTIALS_KEY']],
  ])(
    'exits 1 naming the variable, without a stack trace: %p',
    async (env, names) => {
      const { code, stdout, stderr } = await runMain(env);
      expect(code).toBe(1);
      expect(stderr).toMatch(/^Invalid environment variables:/);
      for (const name of names) expect(stderr).toContain(`${name}:`);
      expect(stderr).not.toMatch(/\n\s+at /);
      expect(stderr).not.toMatch(/\.ts:\d+/);
      expect(stdout).toBe('');
    },
    60_000,
  );
});
