import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';

import type {
  JobberAccountView,
  JobberApp,
  JobberClientRecord,
  JobberJobRecord,
  JobberPropertyRecord,
  JobberRecords,
  JobberRequestRecord,
  JobberSettings,
  JobberVisitRecord,
} from './types';

export const DEFAULT_CLIENT_ID = 'sandbox-jobber-client-id';
export const DEFAULT_CLIENT_SECRET = 'sandbox-jobber-client-secret';

export const DEFAULT_SETTINGS: JobberSettings = {
  accessTokenTtlSeconds: 3600,
  authorizationCodeTtlSeconds: 600,
  maximumAvailable: 10_000,
  restoreRate: 500,
  authorize: { approve: true, accountId: null },
};

/** Jobber ids are EncodedId: base64 of gid://Jobber/<Type>/<n> (providers.md 3.2). */
export function encodeId(type: string, n: number): string {
  return Buffer.from(`gid://Jobber/${type}/${n}`).toString('base64');
}

/** The numeric id of an EncodedId of the given type, or null for anything else. */
export function decodeId(type: string, id: unknown): number | null {
  if (typeof id !== 'string') return null;
  const m = /^gid:\/\/Jobber\/(\w+)\/(\d+)$/.exec(Buffer.from(id, 'base64').toString('utf8'));
  return m && m[1] === type ? Number(m[2]) : null;
}

interface App {
  clientId: string;
  secret: string;
  appId: string;
  /** App-level webhook URL (Jobber configures webhooks per app). */
  webhookUrl: string | null;
}

interface Grant {
  grantId: string;
  clientId: string;
  accountId: string;
  createdAt: string;
  revoked: boolean;
  refreshToken: string;
  /** Refresh tokens of this chain that were rotated out: presenting one again is a reuse. */
  rotated: Set<string>;
  refreshes: number;
  refreshTokenReuses: number;
}

export interface Account {
  id: string;
  name: string;
  requestFormId: string;
  bucket: { available: number; at: number };
  throttled: number;
  /** Query-cost points spent in all (actualQueryCost summed), for benchmarks. */
  pointsSpent: number;
  invalidRefreshAttempts: number;
  pendingUserErrors: string[];
}

interface AccessToken {
  grantId: string;
  accountId: string;
  expiresAt: number;
}

export interface AuthorizationCode {
  clientId: string;
  redirectUri: string;
  accountId: string;
  expiresAt: number;
}

export type AccessCheck =
  | { ok: true; accountId: string; grantId: string }
  | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' | 'revoked' };

export type RefreshResult =
  { ok: true; grant: Grant } | { ok: false; reason: 'reused' | 'invalid' | 'revoked'; accountId: string | null };

function base64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

export class JobberStore {
  settings: JobberSettings = structuredClone(DEFAULT_SETTINGS);
  readonly apps = new Map<string, App>();
  readonly accounts = new Map<string, Account>();
  readonly clients = new Map<string, JobberClientRecord>();
  readonly properties = new Map<string, JobberPropertyRecord>();
  readonly requests = new Map<string, JobberRequestRecord>();
  readonly jobs = new Map<string, JobberJobRecord>();
  readonly visits = new Map<string, JobberVisitRecord>();
  private readonly grants = new Map<string, Grant>();
  private readonly refreshTokens = new Map<string, string>();
  private readonly codes = new Map<string, AuthorizationCode>();
  private readonly accessTokens = new Map<string, AccessToken>();
  /** Signs the access-token JWTs (HS256); new on every reset, so old tokens die with the records. */
  private readonly signingKey = randomBytes(32);
  private readonly counters = new Map<string, number>();
  private jobNumber = 1;

  constructor() {
    this.registerApp(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET);
  }

  /** Ids are unique across accounts, as Jobber's. */
  nextId(type: string): string {
    const n = (this.counters.get(type) ?? 0) + 1;
    this.counters.set(type, n);
    return encodeId(type, n);
  }

  nextJobNumber(): number {
    return this.jobNumber++;
  }

  registerApp(clientId: string, secret: string): JobberApp {
    const existing = this.apps.get(clientId);
    const app = {
      clientId,
      secret,
      appId: existing?.appId ?? this.nextId('Application'),
      webhookUrl: existing?.webhookUrl ?? null,
    };
    this.apps.set(clientId, app);
    return { clientId, appId: app.appId, webhookUrl: app.webhookUrl };
  }

  /** Apps installed on the account: those holding a grant that is not revoked. */
  appsOf(accountId: string): App[] {
    const ids = new Set(
      [...this.grants.values()].filter((g) => g.accountId === accountId && !g.revoked).map((g) => g.clientId),
    );
    return [...ids].map((id) => this.apps.get(id) as App);
  }

  checkApp(clientId: string | null, secret: string | null): App | null {
    const app = clientId ? this.apps.get(clientId) : undefined;
    if (!app || secret === null) return null;
    const a = Buffer.from(app.secret);
    const b = Buffer.from(secret);
    return a.length === b.length && timingSafeEqual(a, b) ? app : null;
  }

  createAccount(name?: string): Account {
    const id = this.nextId('Account');
    const account: Account = {
      id,
      name: name ?? `Sandbox Jobber Account ${this.accounts.size + 1}`,
      requestFormId: String(1000 + this.accounts.size + 1),
      bucket: { available: this.settings.maximumAvailable, at: Date.now() },
      throttled: 0,
      pointsSpent: 0,
      invalidRefreshAttempts: 0,
      pendingUserErrors: [],
    };
    this.accounts.set(id, account);
    return account;
  }

  // ---- OAuth ----

  issueCode(clientId: string, redirectUri: string, accountId: string): string {
    const code = randomBytes(24).toString('base64url');
    const expiresAt = Date.now() + this.settings.authorizationCodeTtlSeconds * 1000;
    this.codes.set(code, { clientId, redirectUri, accountId, expiresAt });
    return code;
  }

  /** Single use: a code is gone after its first exchange, valid or not. */
  takeCode(code: string): AuthorizationCode | null {
    const entry = this.codes.get(code);
    this.codes.delete(code);
    return entry && entry.expiresAt > Date.now() ? entry : null;
  }

  createGrant(clientId: string, accountId: string): Grant {
    const grant: Grant = {
      grantId: `grant_${(this.counters.get('grant') ?? 0) + 1}`,
      clientId,
      accountId,
      createdAt: new Date().toISOString(),
      revoked: false,
      refreshToken: '',
      rotated: new Set(),
      refreshes: 0,
      refreshTokenReuses: 0,
    };
    this.counters.set('grant', (this.counters.get('grant') ?? 0) + 1);
    this.grants.set(grant.grantId, grant);
    this.rotate(grant);
    return grant;
  }

  /** Rotation: the grant's refresh token is replaced, the old one is dead at once. */
  refresh(clientId: string, refreshToken: string): RefreshResult {
    const grant = this.grants.get(this.refreshTokens.get(refreshToken) ?? '');
    if (!grant || grant.clientId !== clientId) return { ok: false, reason: 'invalid', accountId: null };
    if (grant.revoked) return { ok: false, reason: 'revoked', accountId: grant.accountId };
    if (grant.refreshToken !== refreshToken) {
      grant.refreshTokenReuses++;
      return { ok: false, reason: 'reused', accountId: grant.accountId };
    }
    grant.refreshes++;
    this.rotate(grant);
    return { ok: true, grant };
  }

  private rotate(grant: Grant): void {
    if (grant.refreshToken) grant.rotated.add(grant.refreshToken);
    grant.refreshToken = randomBytes(32).toString('base64url');
    this.refreshTokens.set(grant.refreshToken, grant.grantId);
  }

  /** An HS256 JWT with exp and the account id; looked up by jti so the control API can expire it. */
  issueAccessToken(grant: Grant): { token: string; expiresAt: number } {
    const now = Date.now();
    const expiresAt = now + this.settings.accessTokenTtlSeconds * 1000;
    const jti = randomUUID();
    const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const payload = base64url(
      JSON.stringify({
        iss: 'sandbox-jobber',
        sub: grant.accountId,
        account_id: grant.accountId,
        client_id: grant.clientId,
        grant_id: grant.grantId,
        iat: Math.floor(now / 1000),
        exp: Math.floor(expiresAt / 1000),
        jti,
      }),
    );
    const signature = createHmac('sha256', this.signingKey).update(`${header}.${payload}`).digest('base64url');
    if (this.accessTokens.size > 50_000) this.pruneAccessTokens(now);
    this.accessTokens.set(jti, { grantId: grant.grantId, accountId: grant.accountId, expiresAt });
    return { token: `${header}.${payload}.${signature}`, expiresAt };
  }

  checkAccessToken(token: string): AccessCheck {
    const parts = token.split('.');
    if (parts.length !== 3) return { ok: false, reason: 'malformed' };
    const expected = createHmac('sha256', this.signingKey).update(`${parts[0]}.${parts[1]}`).digest();
    const given = Buffer.from(parts[2], 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { ok: false, reason: 'bad_signature' };
    }
    let jti: unknown;
    try {
      jti = (JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as { jti?: unknown }).jti;
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    const entry = typeof jti === 'string' ? this.accessTokens.get(jti) : undefined;
    if (!entry) return { ok: false, reason: 'revoked' };
    if (entry.expiresAt <= Date.now()) return { ok: false, reason: 'expired' };
    if (this.grants.get(entry.grantId)?.revoked) return { ok: false, reason: 'revoked' };
    return { ok: true, accountId: entry.accountId, grantId: entry.grantId };
  }

  /** Ends every access token of the account now (their exp claim is not rewritten: the server says no). */
  expireAccessTokens(accountId: string): number {
    let n = 0;
    for (const [jti, t] of this.accessTokens) {
      if (t.accountId === accountId && t.expiresAt > Date.now()) {
        this.accessTokens.set(jti, { ...t, expiresAt: Date.now() });
        n++;
      }
    }
    return n;
  }

  /** APP_DISCONNECT: every grant of the account (refresh and access tokens) is revoked. */
  revokeGrants(accountId: string, clientId?: string): Grant[] {
    const revoked = [...this.grants.values()].filter(
      (g) => g.accountId === accountId && !g.revoked && (!clientId || g.clientId === clientId),
    );
    for (const g of revoked) g.revoked = true;
    return revoked;
  }

  private pruneAccessTokens(now: number): void {
    for (const [jti, t] of this.accessTokens) if (t.expiresAt <= now) this.accessTokens.delete(jti);
  }

  // ---- cost bucket ----

  /** Leaky bucket: refills at restoreRate points per second up to maximumAvailable. */
  available(account: Account, now = Date.now()): number {
    const { maximumAvailable, restoreRate } = this.settings;
    const refilled = account.bucket.available + ((now - account.bucket.at) / 1000) * restoreRate;
    return Math.min(maximumAvailable, Math.floor(refilled));
  }

  spend(account: Account, points: number, now = Date.now()): void {
    account.pointsSpent += points;
    account.bucket = { available: Math.max(0, this.available(account, now) - points), at: now };
  }

  // ---- views ----

  accountView(account: Account): JobberAccountView {
    const grants = [...this.grants.values()].filter((g) => g.accountId === account.id);
    return {
      id: account.id,
      name: account.name,
      requestFormId: account.requestFormId,
      grants: grants.map((g) => ({
        grantId: g.grantId,
        clientId: g.clientId,
        accountId: g.accountId,
        createdAt: g.createdAt,
        revoked: g.revoked,
        refreshes: g.refreshes,
        refreshTokenReuses: g.refreshTokenReuses,
      })),
      refreshes: grants.reduce((n, g) => n + g.refreshes, 0),
      refreshTokenReuses: grants.reduce((n, g) => n + g.refreshTokenReuses, 0),
      invalidRefreshAttempts: account.invalidRefreshAttempts,
      throttle: {
        currentlyAvailable: this.available(account),
        maximumAvailable: this.settings.maximumAvailable,
        restoreRate: this.settings.restoreRate,
      },
      throttled: account.throttled,
      pointsSpent: account.pointsSpent,
      pendingUserErrors: [...account.pendingUserErrors],
    };
  }

  records(): JobberRecords {
    return {
      apps: [...this.apps.values()].map(({ clientId, appId, webhookUrl }) => ({ clientId, appId, webhookUrl })),
      accounts: [...this.accounts.values()].map((a) => this.accountView(a)),
      clients: [...this.clients.values()].map((c) => structuredClone(c)),
      properties: [...this.properties.values()].map((p) => structuredClone(p)),
      requests: [...this.requests.values()].map((r) => structuredClone(r)),
      jobs: [...this.jobs.values()].map((j) => structuredClone(j)),
      visits: [...this.visits.values()].map((v) => structuredClone(v)),
    };
  }
}
