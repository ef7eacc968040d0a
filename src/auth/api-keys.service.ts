import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';

import { NotFoundError, UnprocessableError } from '../common/errors';
import { Page, pageQuery, toPage } from '../common/pagination';
import { Company } from '../companies/company.entity';
import { AppConfig } from '../config/app-config';
import { ApiKey, ApiKeyRole } from './api-key.entity';
import { Caller } from './caller';

export const BOOTSTRAP_ADMIN_ID = 'bootstrap-admin';

const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

@Injectable()
export class ApiKeysService {
  private readonly adminKeyHash: Buffer;

  constructor(
    @InjectRepository(ApiKey) private readonly keys: Repository<ApiKey>,
    @InjectRepository(Company) private readonly companies: Repository<Company>,
    config: AppConfig,
  ) {
    this.adminKeyHash = Buffer.from(hashKey(config.adminApiKey), 'hex');
  }

  async create(input: { name: string; role: ApiKeyRole; companyId?: string }): Promise<ApiKey & { key: string }> {
    if (input.role === 'company') {
      if (!input.companyId) {
        throw new UnprocessableError('A company key needs a companyId', [
          { field: 'companyId', message: 'is required for role company' },
        ]);
      }
      if (!(await this.companies.existsBy({ id: input.companyId }))) {
        throw new UnprocessableError('Unknown company', [{ field: 'companyId', message: 'does not exist' }]);
      }
    } else if (input.companyId) {
      throw new UnprocessableError('An admin key is not bound to a company', [
        { field: 'companyId', message: 'must be absent for role admin' },
      ]);
    }
    const key = `te_${randomBytes(24).toString('base64url')}`;
    const saved = await this.keys.save(
      this.keys.create({
        name: input.name,
        role: input.role,
        companyId: input.role === 'company' ? input.companyId! : null,
        keyHash: hashKey(key),
        keyPrefix: key.slice(0, 10),
        revokedAt: null,
      }),
    );
    delete (saved as Partial<ApiKey>).keyHash;
    return { ...saved, key };
  }

  async list(query: { limit: number; cursor?: string }): Promise<Page<ApiKey>> {
    const qb = this.keys.createQueryBuilder('k');
    return toPage(await pageQuery(qb, 'k', query).getMany(), query.limit);
  }

  async revoke(id: string): Promise<void> {
    // Revoking twice keeps the first revocation time.
    const result = await this.keys.update({ id }, { revokedAt: () => 'COALESCE(revoked_at, now())' });
    if (!result.affected) throw new NotFoundError('API key', id);
  }

  /** Resolves a presented key to its caller, or null when unknown or revoked. */
  async authenticate(presented: string): Promise<Caller | null> {
    const hash = hashKey(presented);
    if (timingSafeEqual(Buffer.from(hash, 'hex'), this.adminKeyHash)) {
      return { apiKeyId: BOOTSTRAP_ADMIN_ID, role: 'admin', companyId: null };
    }
    const key = await this.keys.findOne({
      where: { keyHash: hash },
      select: { id: true, role: true, companyId: true, revokedAt: true },
    });
    if (!key || key.revokedAt) return null;
    return { apiKeyId: key.id, role: key.role, companyId: key.companyId };
  }
}
