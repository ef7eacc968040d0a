import { randomUUID } from 'node:crypto';

import { Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter } from 'prom-client';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, In, Repository } from 'typeorm';

import { actorOf } from '../audit/actor';
import { addAuditEvent, changesBetween } from '../audit/audit';
import { Caller } from '../auth/caller';
import { cleanText, normalizeEmail, toE164 } from '../common/contact';
import { FieldError, ForbiddenError, NotFoundError, UnprocessableError } from '../common/errors';
import { Page, pageQuery, toPage } from '../common/pagination';
import { METRIC } from '../metrics/metrics';
import { RoutingLifecycle } from '../routing/routing-lifecycle';
import { WriteStatement } from '../database/write-statement';
import { ProviderType } from '../providers/field-service-provider';
import { CandidateCompany, UnroutedReason, chooseTargets, receivingCompaniesSql } from '../routing/routing-rules';
import { Routing } from '../routing/routing.entity';
import { SyncProducer } from '../queue/sync.producer';
import { CreateJobDto } from './dto/create-job.dto';
import { JobResponse } from './dto/job.response';
import { toJobResponse } from './job.mapper';
import { ListJobsQuery } from './dto/list-jobs.query';
import { IdempotencyService } from './idempotency.service';
import { Address, Homeowner, Job } from './job.entity';

export interface CreateJobResult {
  status: number;
  body: JobResponse;
  replayed: boolean;
}

@Injectable()
export class JobsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectRepository(Job) private readonly jobs: Repository<Job>,
    @InjectRepository(Routing) private readonly routings: Repository<Routing>,
    private readonly idempotency: IdempotencyService,
    private readonly lifecycle: RoutingLifecycle,
    private readonly syncProducer: SyncProducer,
    @InjectMetric(METRIC.jobsCreated) private readonly jobsCreated: Counter,
  ) {}

  async create(
    caller: Caller,
    dto: CreateJobDto,
    request: { idempotencyKey?: string; fingerprint: string; requestId?: string },
  ): Promise<CreateJobResult> {
    if (caller.role === 'company' && dto.companyId !== caller.companyId) {
      throw new ForbiddenError('A company key may only create jobs for its own company');
    }
    const homeowner = normalizeHomeowner(dto);
    const address = normalizeAddress(dto);

    const key = request.idempotencyKey;
    if (key) {
      const claim = await this.idempotency.claim(caller.apiKeyId, key, request.fingerprint);
      if (claim.kind === 'replay') return { status: claim.status, body: claim.body as JobResponse, replayed: true };
    }
    try {
      const { targets, unroutedReason } = await this.resolveTargets(dto, address.zip);
      // The job, its routings with their events and analytics, the audit event and the idempotency record: one
      // statement, so they commit together in one round trip (src/database/write-statement.ts).
      const statement = new WriteStatement();
      const job = Object.assign(new Job(), {
        id: randomUUID(),
        status: targets.length ? ('open' as const) : ('unrouted' as const),
        unroutedReason,
        companyId: dto.companyId,
        technicianId: dto.technicianId,
        homeowner,
        address,
        summary: dto.summary,
        trade: dto.trade ?? null,
        revenueCents: null,
        currency: 'USD',
        completedAt: null,
        finishedAt: null,
      });
      const p = (value: unknown, cast?: string) => statement.param(value, cast);
      statement.add(
        'new_job',
        `INSERT INTO jobs (id, status, unrouted_reason, company_id, technician_id, homeowner, address, summary, trade)
         VALUES (${p(job.id, 'uuid')}, ${p(job.status, 'text')}, ${p(job.unroutedReason, 'text')},
                 ${p(job.companyId, 'uuid')}, ${p(job.technicianId, 'uuid')}, ${p(JSON.stringify(homeowner), 'jsonb')},
                 ${p(JSON.stringify(address), 'jsonb')}, ${p(job.summary, 'text')}, ${p(job.trade, 'text')})
         RETURNING created_at, updated_at`,
      );
      const routings = this.lifecycle.createRoutings(
        statement,
        job,
        targets.map((t) => ({ companyId: t.id, providerType: t.providerType })),
      );
      // The homeowner and address stay with the job (and leave with it when archived), not in the audit trail.
      addAuditEvent(statement, {
        actor: actorOf(caller, request.requestId),
        action: 'job.created',
        resourceType: 'job',
        resourceId: job.id,
        changes: changesBetween(null, {
          status: job.status,
          companyId: job.companyId,
          technicianId: job.technicianId,
          trade: job.trade,
          routedCompanyIds: routings.map((r) => r.companyId),
        }),
      });
      if (key) {
        // The stored response carries the statement's own creation time (every timestamp of a new job is now()).
        const now = `@now:${randomUUID()}`;
        const body = toJobResponse(
          job,
          routings.map((r) => Object.assign(r, { createdAt: EPOCH })),
        );
        this.idempotency.addComplete(statement, {
          scope: caller.apiKeyId,
          key,
          status: 201,
          body: {
            ...body,
            createdAt: now,
            updatedAt: now,
            routings: body.routings.map((r) => ({ ...r, createdAt: now, updatedAt: now })),
          },
          nowPlaceholder: now,
        });
      }
      const [created] = await statement.run<{ created_at: Date; updated_at: Date }>(
        this.db,
        'SELECT created_at, updated_at FROM new_job',
      );
      job.createdAt = created.created_at;
      job.updatedAt = created.updated_at;
      for (const r of routings) Object.assign(r, { createdAt: created.created_at, updatedAt: created.updated_at });
      this.jobsCreated.inc();
      // After the commit: a crash before this line loses nothing, the sync sweep finds pending routings.
      await this.syncProducer.enqueue(
        routings.map((r) => r.id),
        { requestId: request.requestId },
      );
      return { status: 201, body: toJobResponse(job, routings), replayed: false };
    } catch (error) {
      if (key) await this.idempotency.release(caller.apiKeyId, key).catch(() => undefined);
      throw error;
    }
  }

  async list(caller: Caller, query: ListJobsQuery): Promise<Page<JobResponse>> {
    let companyId = query.companyId;
    if (caller.role === 'company') {
      if (companyId && companyId !== caller.companyId)
        throw new ForbiddenError('A company key may only list its own jobs');
      companyId = caller.companyId!;
    }
    const qb = this.jobs.createQueryBuilder('j');
    if (companyId) qb.andWhere('j.companyId = :companyId', { companyId });
    if (query.status) qb.andWhere('j.status = :status', { status: query.status });
    if (query.trade) qb.andWhere('j.trade = :trade', { trade: query.trade.trim().toLowerCase() });
    if (query.createdFrom) qb.andWhere('j.createdAt >= :from', { from: query.createdFrom });
    if (query.createdTo) qb.andWhere('j.createdAt < :to', { to: query.createdTo });
    const page = toPage(await pageQuery(qb, 'j', query).getMany(), query.limit);
    const routings = page.items.length
      ? await this.routings.find({
          where: { jobId: In(page.items.map((j) => j.id)) },
          order: { createdAt: 'ASC', id: 'ASC' },
        })
      : [];
    return {
      items: page.items.map((job) =>
        toJobResponse(
          job,
          routings.filter((r) => r.jobId === job.id),
        ),
      ),
      nextCursor: page.nextCursor,
    };
  }

  async get(caller: Caller, id: string): Promise<JobResponse> {
    const job = await this.jobs.findOneBy({ id });
    // Another company's job is reported as absent rather than forbidden, so ids do not leak.
    if (!job || (caller.role === 'company' && job.companyId !== caller.companyId)) throw new NotFoundError('Job', id);
    const routings = await this.routings.find({ where: { jobId: id }, order: { createdAt: 'ASC', id: 'ASC' } });
    return toJobResponse(job, routings);
  }

  /**
   * The referrer, the technician and the receiving companies in one query. Explicit `targetCompanyIds` are read as
   * they are and judged by chooseTargets (routing-rules.ts), which names what is wrong with each; otherwise the
   * routing rules run in SQL (receivingCompaniesSql), and a job no company receives gets the reason chooseTargets
   * would give.
   */
  private async resolveTargets(
    dto: CreateJobDto,
    zip: string,
  ): Promise<{ targets: { id: string; providerType: ProviderType }[]; unroutedReason: UnroutedReason | null }> {
    const params: unknown[] = [dto.companyId, dto.technicianId];
    let targetsSql: string;
    let receiversCte = '';
    if (dto.targetCompanyIds) {
      params.push(dto.targetCompanyIds);
      // A company receives referrals through its active connection; the provider type is that connection's.
      targetsSql = `
        SELECT 'candidate', c.id, c.is_active, NULL::uuid, a.provider_type
          FROM companies c LEFT JOIN connections a ON a.company_id = c.id AND a.status = 'active'
         WHERE c.id = ANY($3::uuid[])`;
    } else {
      const rules = receivingCompaniesSql(params, { referrer: '$1::uuid', trade: dto.trade ?? null, zip });
      receiversCte = `WITH receivers AS MATERIALIZED (${rules.receivers} ORDER BY c.created_at, c.id)`;
      targetsSql = `
        SELECT 'target', id, true, NULL::uuid, provider_type FROM receivers
        UNION ALL
        SELECT 'unrouted', NULL, NULL, NULL, ${rules.unroutedReason} WHERE NOT EXISTS (SELECT 1 FROM receivers)`;
    }
    const rows: ResolveRow[] = await this.db.query(
      `${receiversCte}
       SELECT 'referrer' AS kind, id, is_active, NULL::uuid AS company_id, NULL::text AS provider_type
         FROM companies WHERE id = $1::uuid
       UNION ALL
       SELECT 'technician', id, is_active, company_id, NULL FROM technicians WHERE id = $2::uuid
       UNION ALL ${targetsSql}`,
      params,
    );
    const referrer = rows.find((r) => r.kind === 'referrer');
    const technician = rows.find((r) => r.kind === 'technician');
    const errors: FieldError[] = [];
    if (!referrer) errors.push({ field: 'companyId', message: 'company does not exist' });
    else if (!referrer.is_active) errors.push({ field: 'companyId', message: 'company is inactive' });
    if (!technician || technician.company_id !== dto.companyId) {
      errors.push({ field: 'technicianId', message: 'is not a technician of the referring company' });
    } else if (!technician.is_active) errors.push({ field: 'technicianId', message: 'technician is inactive' });
    if (errors.length) throw new UnprocessableError('The referral references something that cannot be used', errors);

    if (!dto.targetCompanyIds) {
      return {
        targets: rows
          .filter((r) => r.kind === 'target')
          .map((r) => ({ id: r.id!, providerType: r.provider_type as ProviderType })),
        unroutedReason: (rows.find((r) => r.kind === 'unrouted')?.provider_type as UnroutedReason) ?? null,
      };
    }
    const candidates: CandidateCompany[] = rows
      .filter((r) => r.kind === 'candidate')
      .map((r) => ({
        id: r.id!,
        isActive: r.is_active!,
        trades: [],
        serviceAreaZips: [],
        providerType: r.provider_type as ProviderType | null,
      }));
    const decision = chooseTargets(
      { referringCompanyId: dto.companyId, trade: dto.trade ?? null, zip, targetCompanyIds: dto.targetCompanyIds },
      candidates,
    );
    if (!decision.ok)
      throw new UnprocessableError('Some target companies cannot receive this referral', decision.errors);
    return decision;
  }
}

/** A row of resolveTargets' query: the referrer, the technician, a candidate or target, or the unrouted reason. */
interface ResolveRow {
  kind: 'referrer' | 'technician' | 'candidate' | 'target' | 'unrouted';
  id: string | null;
  is_active: boolean | null;
  company_id: string | null;
  /** For `unrouted`: the reason. */
  provider_type: string | null;
}

// A Date for the sort inside toJobResponse, before the statement gives the real creation time.
const EPOCH = new Date(0);

/** Normalizes a validated homeowner (CreateJobDto checks the phone and that a phone or an email is given). */
function normalizeHomeowner(dto: CreateJobDto): Homeowner {
  const { homeowner } = dto;
  const phone = cleanText(homeowner.phone);
  const email = cleanText(homeowner.email);
  return {
    firstName: homeowner.firstName,
    lastName: homeowner.lastName,
    phone: phone ? toE164(phone) : null,
    email: email ? normalizeEmail(email) : null,
  };
}

function normalizeAddress(dto: CreateJobDto): Address {
  const { address } = dto;
  return {
    street: cleanText(address.street)!,
    unit: cleanText(address.unit),
    city: cleanText(address.city)!,
    state: address.state,
    zip: address.zip,
    country: 'US',
  };
}
