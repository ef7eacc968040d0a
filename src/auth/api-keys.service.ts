import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';

import { Actor } from '../audit/actor';
import { changesBetween, recordAuditEvent } from '../audit/audit';
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

  async create(
    input: { name: string; role: ApiKeyRole; companyId?: string },
    actor: Actor,
  ): Promise<ApiKey & { key: string }> {
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
    return this.keys.manager.transaction(async (m) => {
      const saved = await m.save(
        m.create(ApiKey, {
          name: input.name,
          role: input.role,
          companyId: input.role === 'company' ? input.companyId! : null,
          keyHash: hashKey(key),
          keyPrefix: key.slice(0, 10),
          revokedAt: null,
        }),
      );
      delete (saved as Partial<ApiKey>).keyHash;
      await recordAuditEvent(m, {
        actor,
        action: 'api_key.created',
        resourceType: 'api_key',
        resourceId: saved.id,
        changes: changesBetween(null, {
          name: saved.name,
          role: saved.role,
          companyId: saved.companyId,
          keyPrefix: saved.keyPrefix,
          key,
        }),
      });
      return { ...saved, key };
    });
  }

  async list(query: { limit: number; cursor?: string }): Promise<Page<ApiKey>> {
    const qb = this.keys.createQueryBuilder('k');
    return toPage(await pageQuery(qb, 'k', query).getMany(), query.limit);
  }

  async revoke(id: string, actor: Actor): Promise<void> {
    await this.keys.manager.transaction(async (m) => {
      // Revoking twice keeps the first revocation time (and records only the first).
      const [rows] = (await m.query(
        `UPDATE api_keys k SET revoked_at = COALESCE(k.revoked_at, now())
           FROM api_keys old WHERE k.id = $1 AND old.id = k.id
         RETURNING old.revoked_at AS was, k.revoked_at AS revoked_at`,
        [id],
      )) as [{ was: Date | null; revoked_at: Date }[], number];
      if (!rows.length) throw new NotFoundError('API key', id);
      await recordAuditEvent(m, {
        actor,
        action: 'api_key.revoked',
        resourceType: 'api_key',
        resourceId: id,
        changes: changesBetween({ revokedAt: rows[0].was }, { revokedAt: rows[0].revoked_at }),
      });
    });
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
