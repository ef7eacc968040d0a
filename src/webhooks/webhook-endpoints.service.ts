import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, SelectQueryBuilder } from 'typeorm';

import { Actor } from '../audit/actor';
import { changesBetween, recordAuditEvent } from '../audit/audit';
import { Caller } from '../auth/caller';
import { ConflictError, NotFoundError, ValidationError } from '../common/errors';
import { Page, pageQuery, toPage } from '../common/pagination';
import { AppConfig } from '../config/app-config';
import { CredentialsCipher } from '../connections/credentials-cipher';
import {
  CreateWebhookEndpointDto,
  CreatedWebhookEndpointResponse,
  ListDeliveriesQuery,
  RedeliveryResponse,
  UpdateWebhookEndpointDto,
  WebhookDeliveryAttemptResponse,
  WebhookEndpointResponse,
} from './dto/webhook-endpoint.dto';
import { checkWebhookHost } from './webhook-address';
import { WebhookDispatcher, disableEndpoint } from './webhook-dispatcher';
import { WebhookDeliveryAttempt, WebhookEndpoint } from './webhook-endpoint.entity';
import { newWebhookSecret } from './webhook-signature';

/** Who looks: a company key sees only its company's endpoints. */
type Viewer = Pick<Caller, 'companyId'> & { role: string };

/** What the audit trail records of an endpoint (the secret only as set or not). */
function auditView(e: WebhookEndpoint | null, secret?: string) {
  if (!e) return null;
  const { url, events, description, status, statusReason, companyId } = e;
  return { url, events, description, status, statusReason, companyId, ...(secret ? { secret } : {}) };
}

function toResponse(e: WebhookEndpoint): WebhookEndpointResponse {
  return {
    id: e.id,
    url: e.url,
    events: e.events,
    description: e.description,
    status: e.status,
    statusReason: e.statusReason,
    companyId: e.companyId,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
  };
}

/**
 * Webhook endpoints (SPEC section 11). An admin's endpoint receives every event; a company key's endpoint is bound to
 * its company and receives what that key may read, and the key sees only its own endpoints (another's id is 404).
 */
@Injectable()
export class WebhookEndpointsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly cipher: CredentialsCipher,
    private readonly dispatcher: WebhookDispatcher,
    private readonly config: AppConfig,
  ) {}

  async create(actor: Actor, dto: CreateWebhookEndpointDto): Promise<CreatedWebhookEndpointResponse> {
    const url = await this.checkUrl(dto.url);
    const secret = newWebhookSecret();
    const saved = await this.db.transaction(async (m) => {
      const endpoint = await m.save(
        m.create(WebhookEndpoint, {
          companyId: actor.role === 'company' ? actor.companyId : null,
          url,
          events: [...new Set(dto.events ?? [])],
          description: dto.description || null,
          status: 'enabled',
          statusReason: null,
          secret: this.cipher.encrypt(secret),
        }),
      );
      await recordAuditEvent(m, {
        actor,
        action: 'webhook_endpoint.created',
        resourceType: 'webhook_endpoint',
        resourceId: endpoint.id,
        changes: changesBetween(null, auditView(endpoint, secret)),
      });
      return endpoint;
    });
    return { ...toResponse(saved), secret };
  }

  async list(caller: Caller, query: { limit: number; cursor?: string }): Promise<Page<WebhookEndpointResponse>> {
    const page = toPage(await pageQuery(this.visible(caller), 'e', query).getMany(), query.limit);
    return { items: page.items.map(toResponse), nextCursor: page.nextCursor };
  }

  async get(caller: Viewer, id: string): Promise<WebhookEndpointResponse> {
    return toResponse(await this.find(caller, id));
  }

  async update(actor: Actor, id: string, dto: UpdateWebhookEndpointDto): Promise<WebhookEndpointResponse> {
    const before = await this.find(actor, id);
    const url = dto.url === undefined ? undefined : await this.checkUrl(dto.url);
    await this.db.transaction(async (m) => {
      await m.update(
        WebhookEndpoint,
        { id },
        {
          ...(url === undefined ? {} : { url }),
          ...(dto.events === undefined ? {} : { events: [...new Set(dto.events)] }),
          ...(dto.description === undefined ? {} : { description: dto.description || null }),
          ...(dto.status === 'enabled' ? { status: 'enabled', statusReason: null } : {}),
        },
      );
      if (dto.status === 'disabled' && before.status === 'enabled') {
        await disableEndpoint(m, id, 'disabled through the API');
      }
      const after = await m.findOneByOrFail(WebhookEndpoint, { id });
      await recordAuditEvent(m, {
        actor,
        action: 'webhook_endpoint.updated',
        resourceType: 'webhook_endpoint',
        resourceId: id,
        changes: changesBetween(auditView(before), auditView(after)),
      });
    });
    return this.get(actor, id);
  }

  async remove(actor: Actor, id: string): Promise<void> {
    const endpoint = await this.find(actor, id);
    await this.db.transaction(async (m) => {
      // Its deliveries and their attempt log go with it.
      await m.delete(WebhookEndpoint, { id });
      await recordAuditEvent(m, {
        actor,
        action: 'webhook_endpoint.deleted',
        resourceType: 'webhook_endpoint',
        resourceId: id,
        changes: changesBetween(auditView(endpoint), null),
      });
    });
  }

  /** The endpoint's delivery log: one row per attempt, newest first. */
  async attempts(
    caller: Caller,
    id: string,
    query: ListDeliveriesQuery,
  ): Promise<Page<WebhookDeliveryAttemptResponse>> {
    await this.find(caller, id);
    const qb = this.db
      .getRepository(WebhookDeliveryAttempt)
      .createQueryBuilder('a')
      .where('a.endpointId = :id', { id });
    if (query.eventId) qb.andWhere('a.eventId = :eventId', { eventId: query.eventId });
    const page = toPage(await pageQuery(qb, 'a', query).getMany(), query.limit);
    return {
      items: page.items.map((a) => ({
        id: a.id,
        deliveryId: a.deliveryId,
        eventId: a.eventId,
        eventType: a.eventType,
        attempt: a.attempt,
        outcome: a.outcome,
        httpStatus: a.httpStatus,
        durationMs: a.durationMs,
        error: a.error,
        nextAttemptAt: a.nextAttemptAt,
        createdAt: a.createdAt,
      })),
      nextCursor: page.nextCursor,
    };
  }

  /**
   * Sends the delivery's event again, now, with a fresh retry schedule and the same `webhook-id` (receivers
   * deduplicate on it). Works on any delivery of an enabled endpoint: delivered, failed, canceled or waiting.
   */
  async redeliver(caller: Caller, id: string, deliveryId: string): Promise<RedeliveryResponse> {
    const endpoint = await this.find(caller, id);
    if (endpoint.status !== 'enabled') {
      throw new ConflictError('The endpoint is disabled: enable it (PATCH status) before redelivering');
    }
    const [rows] = (await this.db.query(
      `UPDATE webhook_deliveries SET status = 'pending', failures = 0, next_attempt_at = now(), updated_at = now()
        WHERE id = $1 AND endpoint_id = $2
       RETURNING id, event_id, attempts, next_attempt_at`,
      [deliveryId, id],
    )) as [{ id: string; event_id: string; attempts: number; next_attempt_at: Date }[], number];
    const row = rows[0];
    if (!row) throw new NotFoundError('Delivery', deliveryId);
    await this.dispatcher.enqueue([{ deliveryId, attempt: row.attempts + 1 }]);
    // A retry already queued for later would hold the job id: bring it forward.
    await this.dispatcher.promote(deliveryId, row.attempts + 1);
    return { deliveryId, eventId: row.event_id, status: 'pending', nextAttemptAt: row.next_attempt_at };
  }

  private visible(caller: Viewer): SelectQueryBuilder<WebhookEndpoint> {
    const qb = this.db.getRepository(WebhookEndpoint).createQueryBuilder('e');
    if (caller.role === 'company') qb.where('e.companyId = :companyId', { companyId: caller.companyId });
    return qb;
  }

  private async find(caller: Viewer, id: string): Promise<WebhookEndpoint> {
    const endpoint = await this.visible(caller).andWhere('e.id = :id', { id }).getOne();
    if (!endpoint) throw new NotFoundError('Webhook endpoint', id);
    return endpoint;
  }

  /** An http(s) URL without credentials; not on a loopback or private network unless WEBHOOK_ALLOW_PRIVATE_URLS. */
  private async checkUrl(value: string): Promise<string> {
    const fail = (message: string) => new ValidationError([{ field: 'url', message }]);
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw fail('must be an absolute http(s) URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw fail('must be an http(s) URL');
    if (url.username || url.password) throw fail('must not carry a user name or password');
    if (url.hash) throw fail('must not have a fragment');
    if (!this.config.webhooks.allowPrivateUrls) {
      const problem = await checkWebhookHost(url);
      if (problem) throw fail(problem);
    }
    return url.toString();
  }
}
