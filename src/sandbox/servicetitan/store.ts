import { randomBytes, randomUUID } from 'node:crypto';

import { omit } from '../http';
import type {
  ServiceTitanRecords,
  StBookingResponse,
  StContact,
  StInvoiceRecord,
  StInvoiceResponse,
  StJobRecord,
  StJobResponse,
} from './types';

export type StBooking = StBookingResponse & { tenantId: string; appKey: string | null; contacts: StContact[] };

interface StClient {
  secret: string;
  /** '*' for auto-registered clients: they may act on any tenant. */
  tenants: Set<string> | '*';
  autoRegistered: boolean;
}

interface StToken {
  clientId: string;
  expiresAt: number;
}

export type ClientCheck = { ok: true } | { ok: false; reason: 'unknown_client' | 'bad_secret' };
export type TokenCheck =
  | { ok: true; clientId: string }
  | { ok: false; reason: 'invalid' | 'expired' | 'tenant_forbidden'; expiredAt?: number };

function base64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

export class ServiceTitanStore {
  readonly bookings = new Map<number, StBooking>();
  readonly jobs = new Map<number, StJobRecord>();
  readonly invoices = new Map<number, StInvoiceRecord>();
  /** Webhook URL per tenant (set through the control API). */
  readonly webhookUrls = new Map<string, string>();
  private readonly clients = new Map<string, StClient>();
  /** Explicitly registered tenants and the booking provider ids they accept. */
  private readonly tenants = new Map<string, Set<string>>();
  private readonly tokens = new Map<string, StToken>();
  // Distinct ranges per entity make a booking id passed where a job id is expected fail loudly.
  private ids = { booking: 50_000_001, job: 60_000_001, invoice: 70_000_001, customer: 80_000_001, other: 90_000_001 };
  private jobNumber = 10_001;

  nextId(kind: keyof ServiceTitanStore['ids']): number {
    return this.ids[kind]++;
  }

  nextJobNumber(): string {
    return String(this.jobNumber++);
  }

  registerTenant(tenantId: string, clientId: string, clientSecret: string, bookingProviderId: string): void {
    const existing = this.clients.get(clientId);
    const tenants = existing && existing.tenants !== '*' ? existing.tenants : new Set<string>();
    tenants.add(tenantId);
    this.clients.set(clientId, { secret: clientSecret, tenants, autoRegistered: false });
    const providers = this.tenants.get(tenantId) ?? new Set<string>();
    providers.add(bookingProviderId);
    this.tenants.set(tenantId, providers);
  }

  checkClient(clientId: string, secret: string, autoRegister: boolean): ClientCheck {
    const client = this.clients.get(clientId);
    if (!client) {
      if (!autoRegister) return { ok: false, reason: 'unknown_client' };
      this.clients.set(clientId, { secret, tenants: '*', autoRegistered: true });
      return { ok: true };
    }
    return client.secret === secret ? { ok: true } : { ok: false, reason: 'bad_secret' };
  }

  /** A JWT-shaped opaque token; the sandbox only ever looks it up. */
  issueToken(clientId: string, ttlSeconds: number): string {
    const now = Date.now();
    const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'at+jwt' }));
    const payload = base64url(
      JSON.stringify({
        iss: 'sandbox-servicetitan',
        client_id: clientId,
        iat: Math.floor(now / 1000),
        exp: Math.floor(now / 1000 + ttlSeconds),
        jti: randomUUID(),
      }),
    );
    const token = `${header}.${payload}.${base64url(randomBytes(32))}`;
    if (this.tokens.size > 50_000) this.pruneTokens(now);
    this.tokens.set(token, { clientId, expiresAt: now + ttlSeconds * 1000 });
    return token;
  }

  checkToken(token: string, tenantId: string): TokenCheck {
    const entry = this.tokens.get(token);
    if (!entry) return { ok: false, reason: 'invalid' };
    if (Date.now() >= entry.expiresAt) return { ok: false, reason: 'expired', expiredAt: entry.expiresAt };
    const client = this.clients.get(entry.clientId);
    if (!client) return { ok: false, reason: 'invalid' };
    if (client.tenants !== '*' && !client.tenants.has(tenantId)) return { ok: false, reason: 'tenant_forbidden' };
    return { ok: true, clientId: entry.clientId };
  }

  /** Unregistered tenants (reached through auto-registered clients) accept any booking provider. */
  acceptsBookingProvider(tenantId: string, bookingProviderId: string): boolean {
    const providers = this.tenants.get(tenantId);
    return !providers || providers.has(bookingProviderId);
  }

  records(): ServiceTitanRecords {
    return {
      tenants: [...this.tenants].map(([tenantId, ids]) => ({ tenantId, bookingProviderIds: [...ids] })),
      clients: [...this.clients].map(([clientId, c]) => ({
        clientId,
        tenantIds: c.tenants === '*' ? '*' : [...c.tenants],
        autoRegistered: c.autoRegistered,
      })),
      bookings: [...this.bookings.values()].map((b) => ({
        ...structuredClone(b),
        jobStatus: b.jobId ? (this.jobs.get(b.jobId)?.jobStatus ?? null) : null,
      })),
      jobs: [...this.jobs.values()].map((j) => structuredClone(j)),
      invoices: [...this.invoices.values()].map((i) => structuredClone(i)),
    };
  }

  private pruneTokens(now: number): void {
    for (const [token, entry] of this.tokens) if (entry.expiresAt <= now) this.tokens.delete(token);
  }
}

export function toBookingResponse(b: StBooking): StBookingResponse {
  return omit(b, ['tenantId', 'appKey', 'contacts']);
}

export function toJobResponse(j: StJobRecord): StJobResponse {
  return omit(j, ['tenantId']);
}

export function toInvoiceResponse(i: StInvoiceRecord): StInvoiceResponse {
  return omit(i, ['tenantId', 'jobId']);
}
