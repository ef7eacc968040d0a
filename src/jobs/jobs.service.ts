import { Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter } from 'prom-client';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, In, Repository } from 'typeorm';

import { actorOf } from '../audit/actor';
import { changesBetween, recordAuditEvent } from '../audit/audit';
import { Caller } from '../auth/caller';
import { cleanText, normalizeEmail, toE164 } from '../common/contact';
import { FieldError, ForbiddenError, NotFoundError, UnprocessableError } from '../common/errors';
import { Page, pageQuery, toPage } from '../common/pagination';
import { METRIC } from '../metrics/metrics';
import { Company } from '../companies/company.entity';
import { Technician } from '../companies/technician.entity';
import { RoutingLifecycle } from '../routing/routing-lifecycle';
import { CandidateCompany, chooseTargets } from '../routing/routing-rules';
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
    @InjectRepository(Company) private readonly companies: Repository<Company>,
    @InjectRepository(Technician) private readonly technicians: Repository<Technician>,
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
      const { job, routings } = await this.db.transaction(async (m) => {
        const job = await m.save(
          m.create(Job, {
            status: targets.length ? 'open' : 'unrouted',
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
          }),
        );
        const routings = await this.lifecycle.createRoutings(
          m,
          job.id,
          targets.map((t) => ({ companyId: t.id, providerType: t.providerType })),
        );
        // The homeowner and address stay with the job (and leave with it when archived), not in the audit trail.
        await recordAuditEvent(m, {
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
          const body = JSON.parse(JSON.stringify(toJobResponse(job, routings))) as JobResponse;
          await this.idempotency.complete(m, caller.apiKeyId, key, 201, body);
        }
        return { job, routings };
      });
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

  private async resolveTargets(dto: CreateJobDto, zip: string) {
    const [referrer, technician] = await Promise.all([
      this.companies.findOneBy({ id: dto.companyId }),
      this.technicians.findOneBy({ id: dto.technicianId }),
    ]);
    const errors: FieldError[] = [];
    if (!referrer) errors.push({ field: 'companyId', message: 'company does not exist' });
    else if (!referrer.isActive) errors.push({ field: 'companyId', message: 'company is inactive' });
    if (!technician || technician.companyId !== dto.companyId) {
      errors.push({ field: 'technicianId', message: 'is not a technician of the referring company' });
    } else if (!technician.isActive) errors.push({ field: 'technicianId', message: 'technician is inactive' });
    if (errors.length) throw new UnprocessableError('The referral references something that cannot be used', errors);

    // A company receives referrals through its active connection; the provider type is that connection's.
    const candidates: CandidateCompany[] = (
      await this.db.query(
        `SELECT c.id, c.is_active, c.trades, c.service_area_zips, a.provider_type
           FROM companies c LEFT JOIN connections a ON a.company_id = c.id AND a.status = 'active'
          WHERE ${dto.targetCompanyIds ? 'c.id = ANY($1::uuid[])' : 'c.is_active AND a.id IS NOT NULL'}`,
        dto.targetCompanyIds ? [dto.targetCompanyIds] : [],
      )
    ).map(
      (r: {
        id: string;
        is_active: boolean;
        trades: string[];
        service_area_zips: string[];
        provider_type: string | null;
      }) => ({
        id: r.id,
        isActive: r.is_active,
        trades: r.trades,
        serviceAreaZips: r.service_area_zips,
        providerType: r.provider_type,
      }),
    );
    const decision = chooseTargets(
      { referringCompanyId: dto.companyId, trade: dto.trade ?? null, zip, targetCompanyIds: dto.targetCompanyIds },
      candidates,
    );
    if (!decision.ok)
      throw new UnprocessableError('Some target companies cannot receive this referral', decision.errors);
    return decision;
  }
}

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
