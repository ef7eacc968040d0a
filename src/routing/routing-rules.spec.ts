import { CandidateCompany, chooseTargets } from './routing-rules';

const company = (id: string, overrides: Partial<CandidateCompany> = {}): CandidateCompany => ({
  id,
  isActive: true,
  providerType: 'servicetitan',
  trades: [],
  serviceAreaZips: [],
  ...overrides,
});

const ids = (decision: ReturnType<typeof chooseTargets>) =>
  decision.ok ? decision.targets.map((t) => t.id) : decision.errors;

describe('chooseTargets without explicit targets', () => {
  const request = { referringCompanyId: 'ref', trade: 'electrical', zip: '78701-1234' };

  it.each<[string, CandidateCompany, boolean]>([
    ['open company', company('a'), true],
    ['matching trade', company('a', { trades: ['electrical', 'hvac'] }), true],
    ['other trade', company('a', { trades: ['plumbing'] }), false],
    ['zip in area (ZIP+4 reduced to 5 digits)', company('a', { serviceAreaZips: ['78701'] }), true],
    ['zip outside area', company('a', { serviceAreaZips: ['10001'] }), false],
    ['inactive', company('a', { isActive: false }), false],
    ['no provider', company('a', { providerType: null }), false],
    ['housecall pro', company('a', { providerType: 'housecallpro' }), true],
  ])('%s', (_, candidate, routed) => {
    expect(ids(chooseTargets(request, [candidate]))).toEqual(routed ? ['a'] : []);
  });

  it('never routes back to the referring company', () => {
    expect(ids(chooseTargets(request, [company('ref'), company('b')]))).toEqual(['b']);
  });

  it('a job without trade reaches only companies taking every trade', () => {
    const decision = chooseTargets({ ...request, trade: null }, [
      company('any'),
      company('spec', { trades: ['hvac'] }),
    ]);
    expect(ids(decision)).toEqual(['any']);
  });

  it('no match is an empty, successful decision (the job is unrouted)', () => {
    expect(chooseTargets(request, [])).toEqual({ ok: true, targets: [], unroutedReason: 'no_receiving_company' });
  });

  it.each<[string, CandidateCompany[], string | null]>([
    ['routed', [company('a')], null],
    ['nobody', [], 'no_receiving_company'],
    ['only the referrer', [company('ref')], 'no_receiving_company'],
    [
      'only inactive or unconnected',
      [company('a', { isActive: false }), company('b', { providerType: null })],
      'no_receiving_company',
    ],
    ['only other trades', [company('a', { trades: ['plumbing'] })], 'no_company_for_trade'],
    [
      'the trade, elsewhere',
      [company('a', { trades: ['electrical'], serviceAreaZips: ['10001'] }), company('b', { trades: ['hvac'] })],
      'no_company_serving_zip',
    ],
  ])('says why a job is unrouted: %s', (_, candidates, reason) => {
    expect(chooseTargets(request, candidates)).toMatchObject({ ok: true, unroutedReason: reason });
  });

  it('a job without a trade when every company specializes: no company for its trade', () => {
    const decision = chooseTargets({ ...request, trade: null }, [company('spec', { trades: ['hvac'] })]);
    expect(decision).toMatchObject({ ok: true, targets: [], unroutedReason: 'no_company_for_trade' });
  });
});

describe('chooseTargets with targetCompanyIds', () => {
  const companies = [
    company('a', { trades: ['plumbing'], serviceAreaZips: ['99999'] }),
    company('off', { isActive: false }),
    company('bare', { providerType: null }),
    company('ref'),
  ];

  it('takes exactly the targets, ignoring trade and area rules', () => {
    const decision = chooseTargets(
      { referringCompanyId: 'ref', trade: 'electrical', zip: '78701', targetCompanyIds: ['a'] },
      companies,
    );
    expect(ids(decision)).toEqual(['a']);
  });

  it('an empty list of targets leaves the job unrouted, saying so', () => {
    const decision = chooseTargets(
      { referringCompanyId: 'ref', trade: 'electrical', zip: '78701', targetCompanyIds: [] },
      companies,
    );
    expect(decision).toEqual({ ok: true, targets: [], unroutedReason: 'no_targets' });
  });

  it('names every target that cannot receive', () => {
    const decision = chooseTargets(
      {
        referringCompanyId: 'ref',
        trade: null,
        zip: '78701',
        targetCompanyIds: ['a', 'missing', 'off', 'bare', 'ref'],
      },
      companies,
    );
    expect(decision).toEqual({
      ok: false,
      errors: [
        { field: 'targetCompanyIds[1]', message: 'company does not exist' },
        { field: 'targetCompanyIds[2]', message: 'company is inactive' },
        { field: 'targetCompanyIds[3]', message: 'company has no active provider connection' },
        { field: 'targetCompanyIds[4]', message: 'cannot be the referring company' },
      ],
    });
  });
});
