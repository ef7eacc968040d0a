import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';

import { Actor } from '../audit/actor';
import { Caller } from '../auth/caller';
import { Company } from '../companies/company.entity';
import { DomainError, ForbiddenError, NotFoundError, ServiceUnavailableError, ValidationError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { ConnectedAccount } from '../providers/field-service-provider';
import { providerCatalog } from '../providers/provider-catalog';
import { ProviderError } from '../providers/provider-error';
import { ProviderRegistry } from '../providers/provider-registry';
import { REDIS } from '../redis/redis.module';
import { ConnectionsService } from './connections.service';

const STATE_TTL_SECONDS = 600;

interface StatePayload {
  /** company */
  c: string;
  /** provider type */
  p: string;
  /** nonce: the single-use part, remembered in Redis until used or expired */
  n: string;
  /** expiry, epoch seconds */
  e: number;
  /** who asked to connect (the API key, its role and company): the audit trail's actor of the connect */
  a: { k: string | null; r: Actor['role']; c: string | null };
}

/**
 * OAuth connect (SPEC section 9) for providers that connect that way (`connect: 'oauth'`, Jobber): an authorize URL
 * with a signed, single-use state that expires in 10 minutes, and the callback that exchanges the code and stores the
 * tokens in a new active connection.
 */
@Injectable()
export class OAuthService {
  private readonly logger = new Logger(OAuthService.name);
  private readonly stateKey: Buffer;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly providers: ProviderRegistry,
    private readonly connections: ConnectionsService,
    private readonly config: AppConfig,
  ) {
    // Its own key, derived from the credentials key: a state signature never doubles as anything else.
    this.stateKey = Buffer.from(hkdfSync('sha256', config.credentialsKey, Buffer.alloc(0), 'oauth-state', 32));
  }

  async authorizeUrl(caller: Caller, companyId: string, providerType: string): Promise<string> {
    const strategy = this.oauthStrategy(providerType);
    if (caller.role === 'company' && caller.companyId !== companyId) {
      throw new ForbiddenError('A company key may only connect its own company');
    }
    if (!(await this.db.getRepository(Company).existsBy({ id: companyId })))
      throw new NotFoundError('Company', companyId);
    const payload: StatePayload = {
      c: companyId,
      p: providerType,
      n: randomBytes(16).toString('base64url'),
      e: Math.floor(Date.now() / 1000) + STATE_TTL_SECONDS,
      a: { k: caller.apiKeyId, r: caller.role, c: caller.companyId },
    };
    await this.remember(payload.n);
    return strategy.authorizeUrl!({ state: this.sign(payload), redirectUri: this.redirectUri(providerType) });
  }

  /** The provider sent the browser back: verify the state, exchange the code, store a new active connection. */
  async complete(
    providerType: string,
    query: { code?: string; state?: string; error?: string; error_description?: string },
    requestId: string | null,
  ): Promise<{ companyName: string; providerName: string; accountName: string }> {
    const strategy = this.oauthStrategy(providerType);
    const payload = this.verify(query.state, providerType);
    if (!(await this.consume(payload.n))) {
      throw new ValidationError([
        { field: 'state', message: 'was already used or has expired: start again from authorize' },
      ]);
    }
    const providerName = providerCatalog.get(providerType).displayName;
    if (query.error) {
      throw new ValidationError([
        {
          field: 'error',
          message: `${providerName} did not authorize the connection (${clip(query.error)}${query.error_description ? `: ${clip(query.error_description)}` : ''})`,
        },
      ]);
    }
    if (!query.code) throw new ValidationError([{ field: 'code', message: 'is required' }]);

    let account: ConnectedAccount<object>;
    try {
      account = await strategy.connectAccount!({ code: query.code, redirectUri: this.redirectUri(providerType) });
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      if (!error.retryable) {
        throw new ValidationError([
          { field: 'code', message: `${providerName} refused the authorization code (${error.providerMessage})` },
        ]);
      }
      throw new DomainError(
        502,
        'Bad Gateway',
        `${providerName} did not answer the code exchange; start again from authorize`,
      );
    }
    const company = await this.db.transaction(async (m) => {
      const found = await m.findOne(Company, { where: { id: payload.c }, lock: { mode: 'pessimistic_write' } });
      if (!found) throw new NotFoundError('Company', payload.c);
      await this.connections.connect(m, payload.c, {
        providerType,
        credentials: account.credentials,
        externalAccountId: account.externalAccountId,
        // The key that asked for the authorize URL made this change; the callback itself carries no key.
        actor: { apiKeyId: payload.a.k, role: payload.a.r, companyId: payload.a.c, requestId },
      });
      return found;
    });
    this.logger.log(
      { companyId: company.id, provider: providerType, externalAccountId: account.externalAccountId },
      'Company connected through OAuth',
    );
    return { companyName: company.name, providerName, accountName: account.accountName };
  }

  private oauthStrategy(providerType: string) {
    const definition = providerCatalog.find(providerType);
    if (!definition || definition.connect !== 'oauth') {
      throw new NotFoundError('OAuth provider', providerType);
    }
    return this.providers.get(providerType).strategy;
  }

  private redirectUri(providerType: string): string {
    return `${this.config.publicBaseUrl}/api/oauth/${providerType}/callback`;
  }

  private sign(payload: StatePayload): string {
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${createHmac('sha256', this.stateKey).update(body).digest('base64url')}`;
  }

  private verify(state: string | undefined, providerType: string): StatePayload {
    const invalid = (message: string) => new ValidationError([{ field: 'state', message }]);
    if (!state) throw invalid('is required');
    const [body, signature] = state.split('.');
    const expected = createHmac('sha256', this.stateKey)
      .update(body ?? '')
      .digest();
    const given = Buffer.from(signature ?? '', 'base64url');
    if (!body || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw invalid('is not a state this service issued');
    }
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as StatePayload;
    if (payload.p !== providerType) throw invalid('was issued for another provider');
    if (payload.e < Date.now() / 1000) throw invalid('has expired: start again from authorize');
    return payload;
  }

  private async remember(nonce: string): Promise<void> {
    try {
      await this.redis.set(`oauth-state:${nonce}`, '1', 'EX', STATE_TTL_SECONDS);
    } catch {
      throw new ServiceUnavailableError('Cannot start an OAuth connect right now (Redis is unavailable)');
    }
  }

  /** True the first time a state is used; a reused or expired one was removed already. */
  private async consume(nonce: string): Promise<boolean> {
    try {
      return (await this.redis.del(`oauth-state:${nonce}`)) === 1;
    } catch {
      throw new ServiceUnavailableError('Cannot complete an OAuth connect right now (Redis is unavailable)');
    }
  }
}

function clip(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '').slice(0, 200);
}
