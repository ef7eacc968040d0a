import { randomUUID } from 'node:crypto';

import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  DataSource,
  EntityManager,
  EntitySubscriberInterface,
  In,
  TransactionCommitEvent,
  TransactionRollbackEvent,
} from 'typeorm';

import { toJobResponse } from '../jobs/job.mapper';
import { Job } from '../jobs/job.entity';
import type { JobChange } from '../routing/job-aggregate';
import type { RoutingChange } from '../routing/routing-lifecycle';
import { toRoutingResponse } from '../routing/routing.mapper';
import { Routing } from '../routing/routing.entity';
import { WebhookDispatcher } from './webhook-dispatcher';
import { WebhookEventType, jobEventTypes, routingEventTypes, subscribes } from './webhook-events';

interface Candidate {
  type: WebhookEventType;
  routingId: string | null;
  jobId: string;
}

export interface EndpointRow {
  id: string;
  company_id: string | null;
  events: string[];
}

/** The endpoints an event may go to (EndpointRow). */
export const ENABLED_ENDPOINTS_SQL = `SELECT id, company_id, events FROM webhook_endpoints WHERE status = 'enabled'`;

// Where a transaction keeps the deliveries it made, for the subscriber to queue once it has committed.
const PENDING_DELIVERIES = 'webhookDeliveries';

/**
 * The outbox (SPEC section 11): the events a routing or job change causes are written, with one delivery per
 * subscribed endpoint, in the transaction of the change itself, so a crash loses none. Once that transaction has
 * committed, its deliveries are queued; the webhooks sweep queues any whose queueing was lost (a crash between
 * commit and queueing, Redis down).
 */
@Injectable()
export class WebhookOutbox implements OnModuleInit, EntitySubscriberInterface {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly dispatcher: WebhookDispatcher,
  ) {}

  onModuleInit(): void {
    // A TypeORM subscriber: told of every commit and rollback, with the transaction's query runner.
    this.db.subscribers.push(this);
  }

  /**
   * Called by RoutingLifecycle.commit, inside the change's transaction. `enabledEndpoints`: the enabled endpoints
   * when the caller read them already in that transaction (ENABLED_ENDPOINTS_SQL), saving the query here.
   */
  async record(
    m: EntityManager,
    changes: RoutingChange[],
    jobChanges: JobChange[],
    enabledEndpoints?: EndpointRow[],
  ): Promise<void> {
    const candidates: Candidate[] = [
      ...changes.flatMap((c) => routingEventTypes(c).map((type) => ({ type, routingId: c.routingId, jobId: c.jobId }))),
      ...jobChanges.flatMap((c) => jobEventTypes(c).map((type) => ({ type, routingId: null, jobId: c.jobId }))),
    ];
    if (!candidates.length) return;
    // Nothing is written for events no endpoint takes.
    const endpoints: EndpointRow[] = enabledEndpoints ?? (await m.query(ENABLED_ENDPOINTS_SQL));
    const wanted = candidates.filter((c) => endpoints.some((e) => subscribes(e.events, c.type)));
    if (!wanted.length) return;

    const bodies = await this.bodies(m, wanted);
    const timestamp = new Date().toISOString();
    const events: {
      id: string;
      type: string;
      companyId: string;
      routingId: string | null;
      jobId: string;
      body: string;
    }[] = [];
    const deliveries: { eventId: string; endpointId: string }[] = [];
    for (const c of wanted) {
      const { companyId, data } = bodies(c);
      const recipients = endpoints.filter(
        (e) => subscribes(e.events, c.type) && (e.company_id === null || e.company_id === companyId),
      );
      if (!recipients.length) continue;
      const id = randomUUID();
      events.push({
        id,
        type: c.type,
        companyId,
        routingId: c.routingId,
        jobId: c.jobId,
        body: JSON.stringify({ type: c.type, timestamp, data }),
      });
      for (const e of recipients) deliveries.push({ eventId: id, endpointId: e.id });
    }
    if (!events.length) return;
    await m.query(
      `INSERT INTO webhook_events (id, type, company_id, routing_id, job_id, body)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::uuid[], $5::uuid[], $6::text[])`,
      [
        events.map((e) => e.id),
        events.map((e) => e.type),
        events.map((e) => e.companyId),
        events.map((e) => e.routingId),
        events.map((e) => e.jobId),
        events.map((e) => e.body),
      ],
    );
    const inserted: { id: string }[] = await m.query(
      `INSERT INTO webhook_deliveries (event_id, endpoint_id, status, next_attempt_at)
       SELECT event_id, endpoint_id, 'pending', now() FROM unnest($1::uuid[], $2::uuid[]) AS d(event_id, endpoint_id)
       RETURNING id`,
      [deliveries.map((d) => d.eventId), deliveries.map((d) => d.endpointId)],
    );
    const runner = m.queryRunner;
    if (runner) {
      const pending = (runner.data[PENDING_DELIVERIES] ??= []) as string[];
      pending.push(...inserted.map((d) => d.id));
    }
  }

  afterTransactionCommit(event: TransactionCommitEvent): void {
    // A released savepoint inside a transaction still running has committed nothing yet.
    if (event.queryRunner.isTransactionActive) return;
    const pending = event.queryRunner.data[PENDING_DELIVERIES] as string[] | undefined;
    if (!pending?.length) return;
    delete event.queryRunner.data[PENDING_DELIVERIES];
    // Not awaited: the change is committed, and a lost enqueue is the webhooks sweep's to repair.
    void this.dispatcher.enqueue(pending.map((id) => ({ deliveryId: id, attempt: 1 })));
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    if (!event.queryRunner.isTransactionActive) delete event.queryRunner.data[PENDING_DELIVERIES];
  }

  /** The routings and jobs as the API shows them, read inside the transaction (after the change). */
  private async bodies(
    m: EntityManager,
    candidates: Candidate[],
  ): Promise<(c: Candidate) => { companyId: string; data: unknown }> {
    const routingIds = [...new Set(candidates.filter((c) => c.routingId).map((c) => c.routingId!))];
    const jobIds = [...new Set(candidates.filter((c) => !c.routingId).map((c) => c.jobId))];
    // One connection (the transaction's): one query after another.
    const routings = routingIds.length ? await m.findBy(Routing, { id: In(routingIds) }) : [];
    const jobs = jobIds.length ? await m.findBy(Job, { id: In(jobIds) }) : [];
    const jobRoutings = jobIds.length ? await m.findBy(Routing, { jobId: In(jobIds) }) : [];
    const routingById = new Map(routings.map((r) => [r.id, r]));
    const jobById = new Map(jobs.map((j) => [j.id, j]));
    return (c) => {
      if (c.routingId) {
        const routing = routingById.get(c.routingId)!;
        return { companyId: routing.companyId, data: toRoutingResponse(routing) };
      }
      const job = jobById.get(c.jobId)!;
      return {
        companyId: job.companyId,
        data: toJobResponse(
          job,
          jobRoutings.filter((r) => r.jobId === job.id),
        ),
      };
    };
  }
}
