import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';

import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, Not } from 'typeorm';

import { Actor, systemActor } from '../audit/actor';
import { changesBetween, recordAuditEvent } from '../audit/audit';
import { FieldError, NotFoundError, ValidationError } from '../common/errors';
import { Page, pageQuery, toPage } from '../common/pagination';
import { AppConfig } from '../config/app-config';
import { providerCatalog } from '../providers/provider-catalog';
import { RoutingLifecycle } from '../routing/routing-lifecycle';
import { Connection } from './connection.entity';
import { CredentialsCipher } from './credentials-cipher';
import { ConnectionResponse } from './dto/connection.response';

/** A connection as the sync engine uses it. */
export interface ConnectionRef {
  id: string;
  companyId: string;
  providerType: string;
  status: Connection['status'];
  statusReason: string | null;
}

// Decrypting per call would cost more than the provider call's bookkeeping; a short cache bounds staleness.
const CREDENTIALS_CACHE_MS = 30_000;

/** Connections (SPEC section 9): made, replaced and invalidated here; their secrets never leave in clear. */
@Injectable()
export class ConnectionsService {
  private readonly logger = new Logger(ConnectionsService.name);
  private readonly credentialsCache = new Map<string, { credentials: unknown; until: number }>();
  private readonly webhookTokenCache = new Map<string, { connection: ConnectionRef; digest: Buffer; until: number }>();
  private readonly rotations = new Map<string, Promise<unknown>>();

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly cipher: CredentialsCipher,
    private readonly lifecycle: RoutingLifecycle,
    private readonly config: AppConfig,
  ) {}

  /**
   * Validates what an admin sends as `provider` (`{ type, credentials }`) with the provider's own schema, naming
   * every bad field at once under `field` (e.g. `provider`).
   */
  parseProviderInput(field: string, input: { type: string; credentials: unknown }): object {
    const definition = providerCatalog.find(input.type);
    if (!definition) {
      throw new ValidationError([
        { field: `${field}.type`, message: `must be one of: ${providerCatalog.types().join(', ')}` },
      ]);
    }
    if (definition.connect !== 'credentials') {
      throw new ValidationError([
        {
          field: `${field}.type`,
          message: `${definition.displayName} connects through OAuth: POST /api/companies/{id}/connections/${definition.type}/authorize`,
        },
      ]);
    }
    const result = definition.credentials.safeParse(input.credentials);
    if (result.success) return result.data;
    const errors: FieldError[] = result.error.issues
      .map((issue) => {
        const path = issue.path.map(String);
        if (issue.code === 'unrecognized_keys') {
          return issue.keys.map((key) => ({
            field: [field, 'credentials', ...path, key].join('.'),
            message: 'is not a known field',
          }));
        }
        return [{ field: [field, 'credentials', ...path].join('.'), message: issue.message }];
      })
      .flat();
    throw new ValidationError(errors);
  }

  /**
   * Makes `credentials` the company's active connection, inside the caller's transaction. The previous active
   * connection is disabled but keeps serving the routings synced through it. The same provider and credentials
   * again change nothing. Each connection made or disabled is an audit event of `actor`.
   */
  async connect(
    m: EntityManager,
    companyId: string,
    params: { providerType: string; credentials: object; externalAccountId?: string | null; actor: Actor },
  ): Promise<Connection> {
    const current = await m
      .getRepository(Connection)
      .createQueryBuilder('c')
      .addSelect('c.credentials')
      .where('c.companyId = :companyId AND c.status = :status', { companyId, status: 'active' })
      .setLock('pessimistic_write')
      .getOne();
    if (
      current &&
      current.providerType === params.providerType &&
      isDeepStrictEqual(this.cipher.decrypt(current.credentials), params.credentials)
    ) {
      return current;
    }
    const id = randomUUID();
    if (current) {
      // At most one active connection per company (a unique index says so too): the old one steps down first.
      await this.disable(m, [current], `replaced by connection ${id}`, params.actor);
    }
    const connection = await m.save(
      m.create(Connection, {
        id,
        companyId,
        providerType: params.providerType,
        status: 'active',
        statusReason: null,
        credentials: this.cipher.encrypt(params.credentials),
        webhookToken: this.cipher.encrypt(newWebhookToken()),
        externalAccountId: params.externalAccountId ?? null,
      }),
    );
    await recordAuditEvent(m, {
      actor: params.actor,
      action: 'connection.created',
      resourceType: 'connection',
      resourceId: id,
      changes: changesBetween(null, {
        companyId,
        providerType: connection.providerType,
        status: connection.status,
        externalAccountId: connection.externalAccountId,
        credentials: connection.credentials,
        webhookToken: connection.webhookToken,
      }),
    });
    return connection;
  }

  /** The company no longer syncs new routings anywhere; routings already synced keep their connection. */
  async disconnect(m: EntityManager, companyId: string, actor: Actor): Promise<void> {
    const active = await m.find(Connection, {
      where: { companyId, status: 'active' },
      lock: { mode: 'pessimistic_write' },
    });
    await this.disable(m, active, 'provider removed from the company', actor);
  }

  /** Each company's current connection: the newest one that is not disabled (active, or invalid while current). */
  async currentFor(m: EntityManager, companyIds: string[]): Promise<Map<string, Connection>> {
    if (!companyIds.length) return new Map();
    const rows = await m
      .getRepository(Connection)
      .createQueryBuilder('c')
      .distinctOn(['c.companyId'])
      .where('c.companyId IN (:...companyIds)', { companyIds })
      .andWhere("c.status <> 'disabled'")
      .orderBy('c.companyId')
      .addOrderBy('c.createdAt', 'DESC')
      .getMany();
    return new Map(rows.map((c) => [c.companyId, c]));
  }

  async list(companyId: string, query: { limit: number; cursor?: string }): Promise<Page<ConnectionResponse>> {
    const qb = this.db
      .getRepository(Connection)
      .createQueryBuilder('c')
      .addSelect('c.webhookToken')
      .where('c.companyId = :companyId', { companyId });
    const page = toPage(await pageQuery(qb, 'c', query).getMany(), query.limit);
    const ids = page.items.map((c) => c.id);
    const open: { connection_id: string; n: number }[] = ids.length
      ? await this.db.query(
          `SELECT connection_id, count(*)::int AS n FROM routings
            WHERE connection_id = ANY($1::uuid[]) AND status IN ('syncing', 'synced', 'failed', 'pending')
            GROUP BY connection_id`,
          [ids],
        )
      : [];
    const items = await Promise.all(
      page.items.map(async (c) => ({
        id: c.id,
        companyId: c.companyId,
        providerType: c.providerType,
        status: c.status,
        statusReason: c.statusReason,
        webhookUrl: this.webhookUrl(c, await this.webhookToken(c)),
        openRoutings: open.find((o) => o.connection_id === c.id)?.n ?? 0,
        createdAt: c.createdAt,
        updatedAt: c.updatedAt,
      })),
    );
    return { items, nextCursor: page.nextCursor };
  }

  async find(connectionId: string): Promise<ConnectionRef> {
    const connection = await this.db.getRepository(Connection).findOneBy({ id: connectionId });
    if (!connection) throw new NotFoundError('Connection', connectionId);
    return connection;
  }

  /** The connection's decrypted credentials (as stored: the provider's schema checks them on use). */
  async credentialsOf(connectionId: string): Promise<unknown> {
    const cached = this.credentialsCache.get(connectionId);
    if (cached && cached.until > Date.now()) return cached.credentials;
    const row = await this.db
      .getRepository(Connection)
      .createQueryBuilder('c')
      .select(['c.id', 'c.credentials'])
      .where('c.id = :connectionId', { connectionId })
      .getOne();
    if (!row) throw new NotFoundError('Connection', connectionId);
    const credentials = this.cipher.decrypt(row.credentials);
    this.credentialsCache.set(connectionId, { credentials, until: Date.now() + CREDENTIALS_CACHE_MS });
    return credentials;
  }

  /**
   * Replaces the stored credentials (a rotated OAuth token): under a row lock, so one change per connection runs at
   * a time across every process, with the latest stored credentials, committed before it resolves. Changes of one
   * connection from this process wait their turn here rather than each holding a database connection on the lock.
   */
  replaceCredentials<C>(
    connectionId: string,
    parse: (raw: unknown) => C,
    change: (latest: C) => Promise<C>,
  ): Promise<C> {
    const previous = this.rotations.get(connectionId) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(() =>
        this.db.transaction(async (m) => {
          const [row] = (await m.query(`SELECT credentials FROM connections WHERE id = $1 FOR UPDATE`, [
            connectionId,
          ])) as { credentials: string }[];
          if (!row) throw new NotFoundError('Connection', connectionId);
          const latest = parse(this.cipher.decrypt(row.credentials));
          const changed = await change(latest);
          if (changed !== latest) {
            await m.query(`UPDATE connections SET credentials = $2, updated_at = now() WHERE id = $1`, [
              connectionId,
              this.cipher.encrypt(changed),
            ]);
          }
          return changed;
        }),
      )
      .then((credentials) => {
        this.credentialsCache.set(connectionId, { credentials, until: Date.now() + CREDENTIALS_CACHE_MS });
        return credentials;
      });
    this.rotations.set(connectionId, next);
    const forget = () => {
      if (this.rotations.get(connectionId) === next) this.rotations.delete(connectionId);
    };
    next.then(forget, forget);
    return next;
  }

  /**
   * The provider rejected this connection's credentials for good: it becomes `invalid`, and every routing it still
   * serves ends `permanently_failed` naming the reason. Returns false when it was invalid already. The service
   * finds this out by itself: the audit event's actor is `system` unless a caller says otherwise.
   */
  async invalidate(connectionId: string, reason: string, actor: Actor = systemActor()): Promise<boolean> {
    this.credentialsCache.delete(connectionId);
    const failed = await this.db.transaction(async (m) => {
      const [rows] = (await m.query(
        `UPDATE connections c SET status = 'invalid', status_reason = $2, updated_at = now()
           FROM connections old
          WHERE c.id = $1 AND old.id = c.id AND c.status <> 'invalid'
         RETURNING old.status AS old_status, old.status_reason AS old_reason`,
        [connectionId, reason],
      )) as [{ old_status: string; old_reason: string | null }[], number];
      if (!rows.length) return null;
      await recordAuditEvent(m, {
        actor,
        action: 'connection.invalidated',
        resourceType: 'connection',
        resourceId: connectionId,
        changes: changesBetween(
          { status: rows[0].old_status, statusReason: rows[0].old_reason },
          { status: 'invalid', statusReason: reason },
        ),
      });
      return this.lifecycle.failConnectionRoutings(m, connectionId, `connection ${connectionId} is invalid: ${reason}`);
    });
    if (failed === null) return false;
    this.logger.warn({ connectionId, reason, routingsFailed: failed }, 'Connection invalidated');
    return true;
  }

  /**
   * The connection an inbound webhook URL names, when its token is the connection's (compared in constant time);
   * null otherwise. Cached briefly: a provider may send bursts of webhooks.
   */
  async webhookTarget(connectionId: string, token: string): Promise<ConnectionRef | null> {
    let cached = this.webhookTokenCache.get(connectionId);
    if (!cached || cached.until < Date.now()) {
      const row = await this.db
        .getRepository(Connection)
        .createQueryBuilder('c')
        .addSelect('c.webhookToken')
        .where('c.id = :connectionId', { connectionId })
        .getOne();
      if (!row?.webhookToken) return null;
      const { id, companyId, providerType, status, statusReason } = row;
      cached = {
        connection: { id, companyId, providerType, status, statusReason },
        digest: digest(this.cipher.decrypt(row.webhookToken) as string),
        until: Date.now() + CREDENTIALS_CACHE_MS,
      };
      this.webhookTokenCache.set(connectionId, cached);
    }
    // Digests of equal length: the comparison takes the same time whatever the token.
    return timingSafeEqual(cached.digest, digest(token)) ? cached.connection : null;
  }

  /** The connections of a provider account that can still be used (app-level webhooks name the account). */
  async ofAccount(providerType: string, externalAccountId: string): Promise<ConnectionRef[]> {
    return this.db.getRepository(Connection).find({
      where: { providerType, externalAccountId, status: Not('invalid') },
    });
  }

  /** The connection's inbound webhook URL (the sandbox wiring of `npm start` subscribes it). */
  async webhookUrlOf(connectionId: string): Promise<string> {
    const connection = await this.db
      .getRepository(Connection)
      .createQueryBuilder('c')
      .addSelect('c.webhookToken')
      .where('c.id = :connectionId', { connectionId })
      .getOne();
    if (!connection) throw new NotFoundError('Connection', connectionId);
    return this.webhookUrl(connection, await this.webhookToken(connection));
  }

  private async disable(m: EntityManager, connections: Connection[], reason: string, actor: Actor): Promise<void> {
    for (const connection of connections) {
      await m.update(Connection, { id: connection.id }, { status: 'disabled', statusReason: reason });
      await recordAuditEvent(m, {
        actor,
        action: 'connection.disabled',
        resourceType: 'connection',
        resourceId: connection.id,
        changes: changesBetween(
          { status: connection.status, statusReason: connection.statusReason },
          { status: 'disabled', statusReason: reason },
        ),
      });
    }
  }

  /** Per-connection inbound webhook URL (SPEC section 10); the token in it is the connection's secret. */
  /** App-level webhooks (Jobber) come to one URL for every account; the others have a URL per connection. */
  private webhookUrl(connection: Connection, token: string): string {
    const base = `${this.config.publicBaseUrl}/api/webhooks/${connection.providerType}`;
    return providerCatalog.find(connection.providerType)?.webhooks?.receiver === 'app'
      ? base
      : `${base}/${connection.id}/${token}`;
  }

  /** Connections moved over from before they existed have no token yet: they get one when first shown. */
  private async webhookToken(connection: Connection): Promise<string> {
    if (connection.webhookToken) return this.cipher.decrypt(connection.webhookToken) as string;
    const token = newWebhookToken();
    const sealed = this.cipher.encrypt(token);
    const [rows] = (await this.db.query(
      `UPDATE connections SET webhook_token = COALESCE(webhook_token, $2) WHERE id = $1 RETURNING webhook_token`,
      [connection.id, sealed],
    )) as [{ webhook_token: string }[], number];
    return this.cipher.decrypt(rows[0].webhook_token) as string;
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function newWebhookToken(): string {
  return randomBytes(24).toString('base64url');
}
