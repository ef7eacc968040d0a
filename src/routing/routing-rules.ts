import { FieldError } from '../common/errors';
import { zip5 } from '../common/contact';
import { ProviderType } from '../providers/field-service-provider';

export interface CandidateCompany {
  id: string;
  isActive: boolean;
  providerType: ProviderType | null;
  trades: string[];
  serviceAreaZips: string[];
}

export interface RoutingRequest {
  referringCompanyId: string;
  trade: string | null;
  zip: string;
  targetCompanyIds?: string[];
}

/**
 * Why a job reached no company (it is `unrouted`), from the first rule that left no one:
 * - `no_targets`: `targetCompanyIds` was an empty list;
 * - `no_receiving_company`: no other active company has a provider connected;
 * - `no_company_for_trade`: none of those takes the job's trade (a job without a trade: none takes every trade);
 * - `no_company_serving_zip`: some take the trade, but none serves the job's ZIP.
 */
export const UNROUTED_REASONS = [
  'no_targets',
  'no_receiving_company',
  'no_company_for_trade',
  'no_company_serving_zip',
] as const;
export type UnroutedReason = (typeof UNROUTED_REASONS)[number];

export type RoutingDecision =
  | { ok: true; targets: (CandidateCompany & { providerType: ProviderType })[]; unroutedReason: UnroutedReason | null }
  | { ok: false; errors: FieldError[] };

const canReceive = (c: CandidateCompany): c is CandidateCompany & { providerType: ProviderType } =>
  c.isActive && c.providerType !== null;

/**
 * Which companies receive a referral (SPEC section 3). Explicit targets must each be able to receive
 * it; otherwise every active, configured company other than the referrer whose trades and service
 * area fit. A job without a trade only goes to companies that take every trade.
 */
export function chooseTargets(request: RoutingRequest, companies: CandidateCompany[]): RoutingDecision {
  if (request.targetCompanyIds) {
    const byId = new Map(companies.map((c) => [c.id, c]));
    const errors: FieldError[] = [];
    const targets = request.targetCompanyIds.flatMap((id, i) => {
      const company = byId.get(id);
      const field = `targetCompanyIds[${i}]`;
      if (!company) errors.push({ field, message: 'company does not exist' });
      else if (company.id === request.referringCompanyId)
        errors.push({ field, message: 'cannot be the referring company' });
      else if (!company.isActive) errors.push({ field, message: 'company is inactive' });
      else if (!company.providerType) errors.push({ field, message: 'company has no active provider connection' });
      else if (canReceive(company)) return [company];
      return [];
    });
    if (errors.length) return { ok: false, errors };
    return { ok: true, targets, unroutedReason: targets.length ? null : 'no_targets' };
  }
  const zip = zip5(request.zip);
  const receivers = companies.filter(canReceive).filter((c) => c.id !== request.referringCompanyId);
  const forTrade = receivers.filter(
    (c) => c.trades.length === 0 || (request.trade !== null && c.trades.includes(request.trade)),
  );
  const targets = forTrade.filter((c) => c.serviceAreaZips.length === 0 || c.serviceAreaZips.includes(zip));
  const unroutedReason = targets.length
    ? null
    : !receivers.length
      ? 'no_receiving_company'
      : !forTrade.length
        ? 'no_company_for_trade'
        : 'no_company_serving_zip';
  return { ok: true, targets, unroutedReason };
}

/**
 * What a company takes (`trades`) or serves (`service_area_zips`) as a GIN-indexed set: an empty list, "every trade"
 * or "every ZIP", is the set `{*}` (no trade or ZIP is `*`), so "takes this trade or every trade" is one overlap
 * (`&&`) with `{trade, *}`. Migration 1766000000001 indexes exactly these expressions (keep them identical).
 */
export const TRADES_SET = `(CASE WHEN c.trades = '{}' THEN '{*}'::text[] ELSE c.trades END)`;
export const ZIPS_SET = `(CASE WHEN c.service_area_zips = '{}' THEN '{*}'::text[] ELSE c.service_area_zips END)`;

/**
 * The routing rules of chooseTargets without `targetCompanyIds`, as SQL, so that PostgreSQL filters the network by
 * its indexes (TRADES_SET, ZIPS_SET) and a network of 10,000 companies costs what one of 10 does. `receivers`
 * selects `c.id, a.provider_type` of exactly the companies chooseTargets returns as targets (active, with an
 * active connection, not the referrer, taking the trade or every trade, serving the ZIP or every ZIP);
 * `unroutedReason` is the expression of the reason chooseTargets gives when there are none. Values are appended
 * to `params`; `request.referrer` is an SQL expression (a placeholder already in `params`).
 */
export function receivingCompaniesSql(
  params: unknown[],
  request: { referrer: string; trade: string | null; zip: string },
): { receivers: string; unroutedReason: string } {
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}::text[]`;
  };
  const receiving = `FROM companies c JOIN connections a ON a.company_id = c.id AND a.status = 'active'
         WHERE c.is_active AND c.id <> ${request.referrer}`;
  // A job without a trade only goes to companies that take every trade.
  const takesTrade = `${TRADES_SET} && ${param(request.trade === null ? ['*'] : [request.trade, '*'])}`;
  const servesZip = `${ZIPS_SET} && ${param([zip5(request.zip), '*'])}`;
  return {
    receivers: `SELECT c.id, a.provider_type ${receiving} AND ${takesTrade} AND ${servesZip}`,
    unroutedReason: `CASE WHEN NOT EXISTS (SELECT 1 ${receiving}) THEN 'no_receiving_company'
                          WHEN NOT EXISTS (SELECT 1 ${receiving} AND ${takesTrade}) THEN 'no_company_for_trade'
                          ELSE 'no_company_serving_zip' END`,
  };
}
