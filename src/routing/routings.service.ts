import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';

import { Actor } from '../audit/actor';
import { Caller } from '../auth/caller';
import { ForbiddenError, NotFoundError } from '../common/errors';
import { Page, pageQuery, toPage } from '../common/pagination';
import { PRIORITY } from '../queue/queues';
import { SyncProducer } from '../queue/sync.producer';
import { RoutingResponse, RoutingWithEventsResponse } from './dto/routing.response';
import { ListRoutingsQuery } from './dto/list-routings.query';
import { RoutingEvent } from './routing-event.entity';
import { RoutingLifecycle } from './routing-lifecycle';
import { toEventResponse, toRoutingResponse } from './routing.mapper';
import { Routing } from './routing.entity';

@Injectable()
export class RoutingsService {
  constructor(
    @InjectRepository(Routing) private readonly routings: Repository<Routing>,
    @InjectRepository(RoutingEvent) private readonly events: Repository<RoutingEvent>,
    private readonly lifecycle: RoutingLifecycle,
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
  async retry(id: string, actor: Actor): Promise<RoutingResponse> {
    const routing = await this.lifecycle.retry(id, actor);
    await this.syncProducer.enqueue([id], { priority: PRIORITY.high, requestId: actor.requestId ?? undefined });
    return toRoutingResponse(routing);
  }
}
