import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';

import { toE164 } from '../common/contact';
import { NotFoundError, ValidationError } from '../common/errors';
import { Page, pageQuery, toPage } from '../common/pagination';
import { InvalidCredentialsError } from '../providers/credentials';
import { ProviderCredentials } from '../providers/field-service-provider';
import { ProviderRegistry } from '../providers/provider-registry';
import { Company } from './company.entity';
import { CredentialsCipher } from './credentials-cipher';
import { CompanyResponse, CreateCompanyDto, ProviderConfigDto, UpdateCompanyDto } from './dto/company.dto';
import { CreateTechnicianDto, UpdateTechnicianDto } from './dto/technician.dto';
import { Technician } from './technician.entity';

export function toCompanyResponse(company: Company): CompanyResponse {
  return {
    id: company.id,
    name: company.name,
    isActive: company.isActive,
    trades: company.trades,
    serviceAreaZips: company.serviceAreaZips,
    provider: company.providerType ? { type: company.providerType, configured: true } : null,
    createdAt: company.createdAt,
    updatedAt: company.updatedAt,
  };
}

@Injectable()
export class CompaniesService {
  constructor(
    @InjectRepository(Company) private readonly companies: Repository<Company>,
    @InjectRepository(Technician) private readonly technicians: Repository<Technician>,
    private readonly providers: ProviderRegistry,
    private readonly cipher: CredentialsCipher,
  ) {}

  async create(dto: CreateCompanyDto): Promise<Company> {
    return this.companies.save(
      this.companies.create({
        name: dto.name,
        isActive: dto.isActive ?? true,
        trades: unique(dto.trades ?? []),
        serviceAreaZips: unique(dto.serviceAreaZips ?? []),
        ...this.sealProvider(dto.provider),
      }),
    );
  }

  async list(query: { limit: number; cursor?: string }): Promise<Page<Company>> {
    return toPage(await pageQuery(this.companies.createQueryBuilder('c'), 'c', query).getMany(), query.limit);
  }

  async get(id: string): Promise<Company> {
    const company = await this.companies.findOneBy({ id });
    if (!company) throw new NotFoundError('Company', id);
    return company;
  }

  async update(id: string, dto: UpdateCompanyDto): Promise<Company> {
    const company = await this.get(id);
    if (dto.name !== undefined) company.name = dto.name;
    if (dto.isActive !== undefined) company.isActive = dto.isActive;
    if (dto.trades !== undefined) company.trades = unique(dto.trades);
    if (dto.serviceAreaZips !== undefined) company.serviceAreaZips = unique(dto.serviceAreaZips);
    if (dto.provider !== undefined) Object.assign(company, this.sealProvider(dto.provider));
    return this.companies.save(company);
  }

  /** Decrypted provider credentials, for the sync engine only. */
  async credentialsFor(companyId: string): Promise<ProviderCredentials> {
    const row = await this.companies.findOne({
      where: { id: companyId },
      select: { id: true, providerType: true, providerCredentials: true },
    });
    if (!row?.providerType || !row.providerCredentials)
      throw new NotFoundError('Provider credentials of company', companyId);
    return this.cipher.decrypt(row.providerCredentials) as ProviderCredentials;
  }

  async addTechnician(companyId: string, dto: CreateTechnicianDto): Promise<Technician> {
    await this.get(companyId);
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
    await this.get(companyId);
    const qb = this.technicians.createQueryBuilder('t').where('t.companyId = :companyId', { companyId });
    return toPage(await pageQuery(qb, 't', query).getMany(), query.limit);
  }

  async updateTechnician(id: string, dto: UpdateTechnicianDto): Promise<Technician> {
    const technician = await this.technicians.findOneBy({ id });
    if (!technician) throw new NotFoundError('Technician', id);
    Object.assign(technician, Object.fromEntries(Object.entries(dto).filter(([, v]) => v !== undefined)));
    return this.technicians.save(technician);
  }

  private sealProvider(
    provider: ProviderConfigDto | null | undefined,
  ): Pick<Company, 'providerType' | 'providerCredentials'> {
    if (!provider) return { providerType: null, providerCredentials: null };
    let credentials: ProviderCredentials;
    try {
      credentials = this.providers.get(provider.type).validateCredentials(provider.credentials);
    } catch (error) {
      if (!(error instanceof InvalidCredentialsError)) throw error;
      // Every bad field at once, named but never echoed.
      throw new ValidationError(
        error.errors.map((e) => ({
          field: e.field ? `provider.credentials.${e.field}` : 'provider.credentials',
          message: e.message,
        })),
      );
    }
    return { providerType: provider.type, providerCredentials: this.cipher.encrypt(credentials) };
  }
}

export function phoneOrFail(phone: string, field: string): string {
  const e164 = toE164(phone);
  if (!e164) throw new ValidationError([{ field, message: 'must be a valid phone number' }]);
  return e164;
}

const unique = (values: string[]) => [...new Set(values)];
