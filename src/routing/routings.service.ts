import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';

import { Caller } from '../auth/caller';
import { ConflictError, ForbiddenError, NotFoundError } from '../common/errors';
import { Page, pageQuery, toPage } from '../common/pagination';
import { PRIORITY } from '../queue/queues';
import { SyncProducer } from '../sync/sync.producer';
import { RoutingResponse, RoutingWithEventsResponse } from './dto/routing.response';
import { ListRoutingsQuery } from './dto/list-routings.query';
import { RoutingEvent } from './routing-event.entity';
import { toEventResponse, toRoutingResponse } from './routing.mapper';
import { Routing } from './routing.entity';

@Injectable()
export class RoutingsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectRepository(Routing) private readonly routings: Repository<Routing>,
    @InjectRepository(RoutingEvent) private readonly events: Repository<RoutingEvent>,
    private readonly syncProducer: SyncProducer,
  ) {}

  async list(caller: Caller, query: ListRoutingsQuery): Promise<Page<RoutingResponse>> {
    let companyId = query.companyId;
    if (caller.role === 'company') {
      if (companyId && companyId !== caller.companyId)
        throw new ForbiddenError('A company key may only list routings addressed to it');
      companyId = caller.companyId!;
    }
    const qb = this.routings.createQueryBuilder('r');
    if (companyId) qb.andWhere('r.companyId = :companyId', { companyId });
    if (query.status) qb.andWhere('r.status = :status', { status: query.status });
    if (query.providerType) qb.andWhere('r.providerType = :providerType', { providerType: query.providerType });
    if (query.jobId) qb.andWhere('r.jobId = :jobId', { jobId: query.jobId });
    const page = toPage(await pageQuery(qb, 'r', query).getMany(), query.limit);
    return { items: page.items.map(toRoutingResponse), nextCursor: page.nextCursor };
  }

  async get(caller: Caller, id: string): Promise<RoutingWithEventsResponse> {
    const routing = await this.routings.findOneBy({ id });
    if (!routing || (caller.role === 'company' && routing.companyId !== caller.companyId))
      throw new NotFoundError('Routing', id);
    const events = await this.events.find({ where: { routingId: id }, order: { id: 'ASC' } });
    return { ...toRoutingResponse(routing), events: events.map(toEventResponse) };
  }

  /** Admin retry: a failed routing goes back to pending with a fresh attempt budget, at high priority. */
  async retry(id: string, requestId?: string): Promise<RoutingResponse> {
    const routing = await this.db.transaction(async (m) => {
      const [rows] = (await m.query(
        `UPDATE routings SET status = 'pending', attempts = 0, next_retry_at = NULL, status_changed_at = now(), updated_at = now()
         WHERE id = $1 AND status IN ('failed', 'permanently_failed')
         RETURNING id, job_id`,
        [id],
      )) as [{ id: string; job_id: string }[], number];
      if (!rows.length) {
        const current = await m.findOneBy(Routing, { id });
        if (!current) throw new NotFoundError('Routing', id);
        throw new ConflictError(
          `Only failed or permanently_failed routings can be retried; this one is ${current.status}`,
        );
      }
      await m.insert(RoutingEvent, {
        routingId: id,
        type: 'manual_retry',
        outcome: 'pending',
        message: 'retried by an admin',
      });
      // A job canceled only because its routings failed is open again.
      await m.query(
        `UPDATE jobs SET status = 'open', finished_at = NULL, updated_at = now() WHERE id = $1 AND status = 'canceled'`,
        [rows[0].job_id],
      );
      return m.findOneByOrFail(Routing, { id });
    });
    await this.syncProducer.enqueue([id], { priority: PRIORITY.high, requestId });
    return toRoutingResponse(routing);
  }
}
