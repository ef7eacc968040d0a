import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, EntityManager, Repository } from 'typeorm';

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

  async create(dto: CreateCompanyDto): Promise<CompanyWithConnection> {
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
          ? await this.connections.connect(m, company.id, { providerType: dto.provider.type, credentials })
          : null;
      return { company, connection };
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
  async update(id: string, dto: UpdateCompanyDto): Promise<CompanyWithConnection> {
    const credentials = dto.provider ? this.parseProvider(dto.provider) : null;
    return this.db.transaction(async (m) => {
      const company = await this.find(m, id, true);
      if (dto.name !== undefined) company.name = dto.name;
      if (dto.isActive !== undefined) company.isActive = dto.isActive;
      if (dto.trades !== undefined) company.trades = unique(dto.trades);
      if (dto.serviceAreaZips !== undefined) company.serviceAreaZips = unique(dto.serviceAreaZips);
      if (dto.provider && credentials) {
        await this.connections.connect(m, id, { providerType: dto.provider.type, credentials });
      } else if (dto.provider === null) {
        await this.connections.disconnect(m, id);
      }
      return this.withConnection(m, await m.save(company));
    });
  }

  async addTechnician(companyId: string, dto: CreateTechnicianDto): Promise<Technician> {
    await this.find(this.db.manager, companyId);
    return this.technicians.save(
      this.technicians.create({
        companyId,
        firstName: dto.firstName,
        lastName: dto.lastName,
        email: dto.email?.toLowerCase() ?? null,
        phone: dto.phone == null ? null : phoneOrFail(dto.phone, 'phone'),
        isActive: true,
      }),
    );
  }

  async listTechnicians(companyId: string, query: { limit: number; cursor?: string }): Promise<Page<Technician>> {
    await this.find(this.db.manager, companyId);
    const qb = this.technicians.createQueryBuilder('t').where('t.companyId = :companyId', { companyId });
    return toPage(await pageQuery(qb, 't', query).getMany(), query.limit);
  }

  async updateTechnician(id: string, dto: UpdateTechnicianDto): Promise<Technician> {
    const technician = await this.technicians.findOneBy({ id });
    if (!technician) throw new NotFoundError('Technician', id);
    Object.assign(technician, Object.fromEntries(Object.entries(dto).filter(([, v]) => v !== undefined)));
    return this.technicians.save(technician);
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
