import { classifyGraphqlErrors, needsRefresh } from './jobber.client';
import { mapRequestStatus, matchClient, phoneDigits, requestTitle } from './jobber.mapper';
import { JobberRequestStatus } from './jobber.types';

const now = new Date('2026-12-01T12:00:00Z');
type Job = JobberRequestStatus['jobs']['nodes'][number];
const job = (jobStatus: string, extra: Partial<Job> = {}): Job => ({
  id: 'J1',
  jobStatus,
  completedAt: null,
  total: 0,
  visits: { nodes: [] },
  ...extra,
});
const request = (requestStatus: string, jobs: Job[] = []): JobberRequestStatus => ({
  id: 'R1',
  requestStatus,
  jobs: { nodes: jobs },
});
const visit = (visitStatus: string, startAt: string | null, isComplete = false) => ({
  visitStatus,
  startAt,
  isComplete,
});

describe('mapRequestStatus (SPEC section 4, Jobber)', () => {
  it.each<[string, JobberRequestStatus, string, string]>([
    ['a new request', request('new'), 'received', 'new'],
    ['a request with an assessment booked, no job yet', request('upcoming'), 'received', 'upcoming'],
    ['an archived request without a job', request('archived'), 'canceled', 'archived'],
    ['a converted request with an upcoming job', request('converted', [job('upcoming')]), 'scheduled', 'upcoming'],
    [
      'a job due today whose visit has not started',
      request('converted', [job('today', { visits: { nodes: [visit('TODAY', '2026-12-01T15:00:00Z')] } })]),
      'scheduled',
      'today',
    ],
    [
      'an active job with a visit under way',
      request('converted', [job('active', { visits: { nodes: [visit('ACTIVE', '2026-12-01T11:00:00Z')] } })]),
      'in_progress',
      'active',
    ],
    [
      'a late job whose visit started',
      request('converted', [job('late', { visits: { nodes: [visit('LATE', '2026-12-01T09:00:00Z')] } })]),
      'in_progress',
      'late',
    ],
    ['a job on hold', request('converted', [job('on_hold')]), 'on_hold', 'on_hold'],
    ['an archived job not completed', request('converted', [job('archived')]), 'scheduled', 'archived'],
  ])('%s → %s', (_, input, status, raw) => {
    expect(mapRequestStatus(input, now)).toEqual({ status, rawStatus: raw, completedAt: null, revenueCents: null });
  });

  it('a job with completedAt is completed, revenue = total × 100 rounded to cents', () => {
    const done = request('converted', [
      job('requires_invoicing', { completedAt: '2026-11-30T18:00:00Z', total: 1234.565 }),
    ]);
    expect(mapRequestStatus(done, now)).toEqual({
      status: 'completed',
      rawStatus: 'requires_invoicing',
      completedAt: new Date('2026-11-30T18:00:00Z'),
      revenueCents: 123_457,
    });
  });

  it('prefers the completed job when a request has several', () => {
    const several = request('converted', [
      job('requires_invoicing', { completedAt: '2026-11-30T18:00:00Z', total: 10 }),
      job('upcoming'),
    ]);
    expect(mapRequestStatus(several, now).status).toBe('completed');
  });
});

describe('Jobber referral helpers', () => {
  it('titles carry the routing reference at the end, within 255 characters', () => {
    const title = requestTitle({
      routingId: 'r-1',
      jobId: 'j',
      referringCompanyName: 'Acme Plumbing',
      homeowner: { firstName: 'A', lastName: 'B' },
      address: { street: '1 Main', city: 'Austin', state: 'TX', zip: '78701', country: 'US' },
      summary: 'x'.repeat(2000),
    });
    expect(title.length).toBeLessThanOrEqual(255);
    expect(title.endsWith(' [te-routing-r-1]')).toBe(true);
    expect(title.startsWith('Referral from Acme Plumbing: xxx')).toBe(true);
  });

  it('matches a client by exact phone digits or email, never by a fuzzy search hit', () => {
    const clients = [
      {
        id: 'c1',
        isArchived: false,
        phones: [{ number: '(512) 555-0199' }],
        emails: [],
        clientProperties: { nodes: [] },
      },
      {
        id: 'c2',
        isArchived: false,
        phones: [],
        emails: [{ address: 'Jane@Example.com' }],
        clientProperties: { nodes: [] },
      },
      { id: 'c3', isArchived: true, phones: [{ number: '512-555-0147' }], emails: [], clientProperties: { nodes: [] } },
    ];
    expect(matchClient(clients, { firstName: 'J', lastName: 'D', phone: '+15125550199' })?.id).toBe('c1');
    expect(matchClient(clients, { firstName: 'J', lastName: 'D', email: 'jane@example.com' })?.id).toBe('c2');
    expect(matchClient(clients, { firstName: 'J', lastName: 'D', phone: '+15125550147' })).toBeUndefined();
    expect(phoneDigits('+1 (512) 555-0147')).toBe('5125550147');
  });
});

describe('Jobber tokens and errors', () => {
  it('refreshes when less than a tenth of the lifetime, at most 60 s, remains', () => {
    const hour = { accessTokenIssuedAt: 0, accessTokenExpiresAt: 3_600_000, accessToken: 'a', refreshToken: 'r' };
    expect(needsRefresh(hour, 3_539_999)).toBe(false);
    expect(needsRefresh(hour, 3_540_000)).toBe(true);
    const short = { ...hour, accessTokenExpiresAt: 100_000 };
    expect(needsRefresh(short, 89_999)).toBe(false);
    expect(needsRefresh(short, 90_000)).toBe(true);
  });

  const cost = (requested: number, available: number, maximum = 10_000) => ({
    requestedQueryCost: requested,
    throttleStatus: { maximumAvailable: maximum, currentlyAvailable: available, restoreRate: 500 },
  });

  it.each<[string, Parameters<typeof classifyGraphqlErrors>, object]>([
    [
      'THROTTLED waits for the missing points',
      [[{ message: 'Throttled', extensions: { code: 'THROTTLED' } }], cost(1500, 500)],
      { code: 'RATE_LIMITED', retryable: true, retryAfterMs: 2250 },
    ],
    [
      'THROTTLED for more than a full bucket is permanent',
      [[{ message: 'Throttled', extensions: { code: 'THROTTLED' } }], cost(12_000, 10_000)],
      { code: 'INVALID', retryable: false },
    ],
    [
      'an authentication error',
      [[{ message: 'Unauthenticated', extensions: { code: 'UNAUTHENTICATED' } }]],
      { code: 'AUTH', retryable: false },
    ],
    [
      'a document error',
      [[{ message: "Field 'x' doesn't exist on type 'Query'" }]],
      { code: 'INVALID', retryable: false },
    ],
  ])('%s', (_, args, expected) => {
    expect(classifyGraphqlErrors(...args)).toMatchObject(expected);
  });
});
