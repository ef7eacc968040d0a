import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, EntityManager, Repository } from 'typeorm';

import { Actor } from '../audit/actor';
import { changesBetween, recordAuditEvent } from '../audit/audit';
import { toE164 } from '../common/contact';
import { NotFoundError, ValidationError } from '../common/errors';
import { Page, pageQuery, toPage } from '../common/pagination';
import { Connection } from '../connections/connection.entity';
import { ConnectionsService } from '../connections/connections.service';
import { Company } from './company.entity';
import { CompanyResponse, CreateCompanyDto, ProviderConfigDto, UpdateCompanyDto } from './dto/company.dto';
import { CreateTechnicianDto, UpdateTechnicianDto } from './dto/technician.dto';
import { Technician } from './technician.entity';

/** A company with its current connection (the `provider` it shows). */
export interface CompanyWithConnection {
  company: Company;
  connection: Connection | null;
}

export function toCompanyResponse({ company, connection }: CompanyWithConnection): CompanyResponse {
  return {
    id: company.id,
    name: company.name,
    isActive: company.isActive,
    trades: company.trades,
    serviceAreaZips: company.serviceAreaZips,
    provider: connection
      ? { type: connection.providerType, configured: true, connectionId: connection.id, status: connection.status }
      : null,
    createdAt: company.createdAt,
    updatedAt: company.updatedAt,
  };
}

@Injectable()
export class CompaniesService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectRepository(Company) private readonly companies: Repository<Company>,
    @InjectRepository(Technician) private readonly technicians: Repository<Technician>,
    private readonly connections: ConnectionsService,
  ) {}

  async create(dto: CreateCompanyDto, actor: Actor): Promise<CompanyWithConnection> {
    const credentials = dto.provider ? this.parseProvider(dto.provider) : null;
    return this.db.transaction(async (m) => {
      const company = await m.save(
        m.create(Company, {
          name: dto.name,
          isActive: dto.isActive ?? true,
          trades: unique(dto.trades ?? []),
          serviceAreaZips: unique(dto.serviceAreaZips ?? []),
        }),
      );
      const connection =
        dto.provider && credentials
          ? await this.connections.connect(m, company.id, { providerType: dto.provider.type, credentials, actor })
          : null;
      const created = { company, connection };
      await recordAuditEvent(m, {
        actor,
        action: 'company.created',
        resourceType: 'company',
        resourceId: company.id,
        changes: changesBetween(null, auditedFields(created)),
      });
      return created;
    });
  }

  async list(query: { limit: number; cursor?: string }): Promise<Page<CompanyWithConnection>> {
    const page = toPage(await pageQuery(this.companies.createQueryBuilder('c'), 'c', query).getMany(), query.limit);
    const connections = await this.connections.currentFor(
      this.db.manager,
      page.items.map((c) => c.id),
    );
    return {
      items: page.items.map((company) => ({ company, connection: connections.get(company.id) ?? null })),
      nextCursor: page.nextCursor,
    };
  }

  async get(id: string): Promise<CompanyWithConnection> {
    return this.withConnection(this.db.manager, await this.find(this.db.manager, id));
  }

  /** A changed provider or credentials make a new active connection; the old one keeps its routings. */
  async update(id: string, dto: UpdateCompanyDto, actor: Actor): Promise<CompanyWithConnection> {
    const credentials = dto.provider ? this.parseProvider(dto.provider) : null;
    return this.db.transaction(async (m) => {
      const company = await this.find(m, id, true);
      const before = auditedFields(await this.withConnection(m, company));
      if (dto.name !== undefined) company.name = dto.name;
      if (dto.isActive !== undefined) company.isActive = dto.isActive;
      if (dto.trades !== undefined) company.trades = unique(dto.trades);
      if (dto.serviceAreaZips !== undefined) company.serviceAreaZips = unique(dto.serviceAreaZips);
      if (dto.provider && credentials) {
        await this.connections.connect(m, id, { providerType: dto.provider.type, credentials, actor });
      } else if (dto.provider === null) {
        await this.connections.disconnect(m, id, actor);
      }
      const updated = await this.withConnection(m, await m.save(company));
      await recordAuditEvent(m, {
        actor,
        action: 'company.updated',
        resourceType: 'company',
        resourceId: id,
        changes: changesBetween(before, auditedFields(updated)),
      });
      return updated;
    });
  }

  async addTechnician(companyId: string, dto: CreateTechnicianDto, actor: Actor): Promise<Technician> {
    return this.db.transaction(async (m) => {
      await this.find(m, companyId);
      const technician = await m.save(
        m.create(Technician, {
          companyId,
          firstName: dto.firstName,
          lastName: dto.lastName,
          email: dto.email?.toLowerCase() ?? null,
          phone: dto.phone == null ? null : phoneOrFail(dto.phone, 'phone'),
          isActive: true,
        }),
      );
      await recordAuditEvent(m, {
        actor,
        action: 'technician.created',
        resourceType: 'technician',
        resourceId: technician.id,
        changes: changesBetween(null, technicianFields(technician)),
      });
      return technician;
    });
  }

  async listTechnicians(companyId: string, query: { limit: number; cursor?: string }): Promise<Page<Technician>> {
    await this.find(this.db.manager, companyId);
    const qb = this.technicians.createQueryBuilder('t').where('t.companyId = :companyId', { companyId });
    return toPage(await pageQuery(qb, 't', query).getMany(), query.limit);
  }

  async updateTechnician(id: string, dto: UpdateTechnicianDto, actor: Actor): Promise<Technician> {
    return this.db.transaction(async (m) => {
      const technician = await m.findOne(Technician, { where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!technician) throw new NotFoundError('Technician', id);
      const before = technicianFields(technician);
      Object.assign(technician, Object.fromEntries(Object.entries(dto).filter(([, v]) => v !== undefined)));
      const saved = await m.save(technician);
      await recordAuditEvent(m, {
        actor,
        action: 'technician.updated',
        resourceType: 'technician',
        resourceId: id,
        changes: changesBetween(before, technicianFields(saved)),
      });
      return saved;
    });
  }

  private parseProvider(provider: ProviderConfigDto): object {
    return this.connections.parseProviderInput('provider', provider);
  }

  private async find(m: EntityManager, id: string, lock = false): Promise<Company> {
    const company = await m.findOne(Company, {
      where: { id },
      ...(lock ? { lock: { mode: 'pessimistic_write' as const } } : {}),
    });
    if (!company) throw new NotFoundError('Company', id);
    return company;
  }

  private async withConnection(m: EntityManager, company: Company): Promise<CompanyWithConnection> {
    const connections = await this.connections.currentFor(m, [company.id]);
    return { company, connection: connections.get(company.id) ?? null };
  }
}

export function phoneOrFail(phone: string, field: string): string {
  const e164 = toE164(phone);
  if (!e164) throw new ValidationError([{ field, message: 'must be a valid phone number' }]);
  return e164;
}

const unique = (values: string[]) => [...new Set(values)];

/**
 * What the audit trail compares. The provider is the current connection; its credentials are redacted by name,
 * and a new connection means new credentials (a connection's credentials never change in place), so the
 * connection id stands for them here.
 */
function auditedFields({ company, connection }: CompanyWithConnection): Record<string, unknown> {
  return {
    name: company.name,
    isActive: company.isActive,
    trades: company.trades,
    serviceAreaZips: company.serviceAreaZips,
    'provider.type': connection?.providerType ?? null,
    'provider.connectionId': connection?.id ?? null,
    'provider.credentials': connection?.id ?? null,
  };
}

function technicianFields(t: Technician): Record<string, unknown> {
  return {
    companyId: t.companyId,
    firstName: t.firstName,
    lastName: t.lastName,
    email: t.email,
    phone: t.phone,
    isActive: t.isActive,
  };
}
