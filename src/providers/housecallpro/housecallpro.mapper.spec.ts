import { Referral } from '../field-service-provider';
import {
  mapJobStatus,
  matchAddress,
  matchCustomer,
  normalizePhone,
  routingTag,
  toCreateCustomerRequest,
  toCreateJobRequest,
} from './housecallpro.mapper';
import { HcpCustomer, HcpJob } from './housecallpro.types';

const referral: Referral = {
  routingId: 'r-42',
  jobId: 'j-1',
  referringCompanyName: 'Acme Plumbing',
  homeowner: { firstName: 'Ada', lastName: 'Lovelace', phone: '(555) 123-4567', email: 'Ada@Example.com' },
  address: { street: '1 Main St', unit: null, city: 'Austin', state: 'TX', zip: '78701', country: 'US' },
  summary: 'Leaking water heater',
  trade: 'plumbing',
};

describe('mapJobStatus', () => {
  const job = (work_status: string, extra: Partial<HcpJob> = {}): HcpJob => ({ id: 'job_1', work_status, ...extra });
  const completed = { work_timestamps: { completed_at: '2025-03-04T05:06:07Z' }, total_amount: 12345 };

  it.each<[string, HcpJob, ReturnType<typeof mapJobStatus>]>([
    [
      'needs scheduling',
      job('needs scheduling'),
      { status: 'received', rawStatus: 'needs scheduling', completedAt: null, revenueCents: null },
    ],
    [
      'scheduled',
      job('scheduled'),
      { status: 'scheduled', rawStatus: 'scheduled', completedAt: null, revenueCents: null },
    ],
    [
      'in progress',
      job('in progress', { total_amount: 500 }),
      { status: 'in_progress', rawStatus: 'in progress', completedAt: null, revenueCents: null },
    ],
    [
      'complete rated',
      job('complete rated', completed),
      {
        status: 'completed',
        rawStatus: 'complete rated',
        completedAt: new Date('2025-03-04T05:06:07Z'),
        revenueCents: 12345,
      },
    ],
    [
      'complete unrated',
      job('complete unrated', completed),
      {
        status: 'completed',
        rawStatus: 'complete unrated',
        completedAt: new Date('2025-03-04T05:06:07Z'),
        revenueCents: 12345,
      },
    ],
    [
      'completed with zero total',
      job('complete unrated', { total_amount: 0 }),
      { status: 'completed', rawStatus: 'complete unrated', completedAt: null, revenueCents: 0 },
    ],
    [
      'completed, total as string',
      job('complete unrated', { total_amount: '999' }),
      { status: 'completed', rawStatus: 'complete unrated', completedAt: null, revenueCents: 999 },
    ],
    [
      'completed, fractional total',
      job('complete unrated', { total_amount: 9.5 }),
      { status: 'completed', rawStatus: 'complete unrated', completedAt: null, revenueCents: null },
    ],
    [
      'user canceled',
      job('user canceled', completed),
      { status: 'canceled', rawStatus: 'user canceled', completedAt: null, revenueCents: null },
    ],
    [
      'pro canceled',
      job('pro canceled'),
      { status: 'canceled', rawStatus: 'pro canceled', completedAt: null, revenueCents: null },
    ],
    [
      'filter token in_progress',
      job('in_progress'),
      { status: 'in_progress', rawStatus: 'in_progress', completedAt: null, revenueCents: null },
    ],
    ['unknown', job('on the moon'), null],
  ])('%s', (_name, input, expected) => {
    expect(mapJobStatus(input)).toEqual(expected);
  });
});

describe('normalizePhone', () => {
  it.each<[string, string | undefined, { e164: string; digits: string } | undefined]>([
    ['(555) 123-4567', 'US', { e164: '+15551234567', digits: '5551234567' }],
    ['+1 555 123 4567', 'US', { e164: '+15551234567', digits: '5551234567' }],
    ['15551234567', 'US', { e164: '+15551234567', digits: '5551234567' }],
    ['5551234567', 'USA', { e164: '+15551234567', digits: '5551234567' }],
    ['020 7946 0958', 'GB', { e164: '+442079460958', digits: '2079460958' }],
    ['12', 'US', { e164: '12', digits: '12' }],
    ['n/a', 'US', undefined],
  ])('%p (%p)', (phone, country, expected) => {
    expect(normalizePhone(phone, country)).toEqual(expected);
  });
});

describe('matchCustomer', () => {
  const customer = (id: string, fields: Partial<HcpCustomer>): HcpCustomer => ({ id, ...fields });

  it.each<[string, HcpCustomer[], Referral, string | undefined]>([
    ['same mobile in another format', [customer('a', { mobile_number: '+15551234567' })], referral, 'a'],
    ['same email, other case', [customer('b', { email: 'ada@example.COM' })], referral, 'b'],
    [
      'phone match wins over email match',
      [customer('b', { email: 'ada@example.com' }), customer('a', { mobile_number: '5551234567' })],
      referral,
      'a',
    ],
    [
      'fuzzy q hit with another number',
      [customer('c', { mobile_number: '5551234568', email: 'other@example.com' })],
      referral,
      undefined,
    ],
    ['home number is not the mobile number', [customer('d', { home_number: '5551234567' })], referral, undefined],
    [
      'no phone or email: name and address',
      [
        customer('e', {
          first_name: 'ada',
          last_name: 'LOVELACE',
          addresses: [{ id: 'adr_1', street: '1 main st', zip: '78701-1234' }],
        }),
      ],
      { ...referral, homeowner: { firstName: 'Ada', lastName: 'Lovelace' } },
      'e',
    ],
    [
      'no phone or email: name at another address',
      [
        customer('f', {
          first_name: 'Ada',
          last_name: 'Lovelace',
          addresses: [{ id: 'adr_1', street: '9 Elm St', zip: '78701' }],
        }),
      ],
      { ...referral, homeowner: { firstName: 'Ada', lastName: 'Lovelace' } },
      undefined,
    ],
  ])('%s', (_name, customers, input, expectedId) => {
    expect(matchCustomer(customers, input)?.id).toBe(expectedId);
  });
});

describe('matchAddress', () => {
  it.each<[string, { street: string; zip: string }, boolean]>([
    ['exact', { street: '1 Main St', zip: '78701' }, true],
    ['case and spacing', { street: ' 1  main st ', zip: '78701' }, true],
    ['ZIP+4', { street: '1 Main St', zip: '78701-0001' }, true],
    ['punctuation', { street: '1 Main St.', zip: '78701' }, true],
    ['other street', { street: '2 Main St', zip: '78701' }, false],
    ['other zip', { street: '1 Main St', zip: '78702' }, false],
  ])('%s', (_name, address, matches) => {
    expect(matchAddress([{ id: 'adr_1', ...address }], referral.address)?.id).toBe(matches ? 'adr_1' : undefined);
  });
});

describe('request bodies', () => {
  it('creates the customer with the address and our lead source', () => {
    expect(toCreateCustomerRequest({ ...referral, address: { ...referral.address, unit: 'Apt 2' } })).toEqual({
      first_name: 'Ada',
      last_name: 'Lovelace',
      email: 'Ada@Example.com',
      mobile_number: '5551234567',
      lead_source: 'TradeEngage',
      addresses: [
        { street: '1 Main St', street_line_2: 'Apt 2', city: 'Austin', state: 'TX', zip: '78701', country: 'US' },
      ],
    });
  });

  it('tags the job with the routing reference', () => {
    expect(routingTag('r-42')).toBe('te-routing-r-42');
    expect(toCreateJobRequest(referral, { customerId: 'cus_1', addressId: 'adr_1' })).toEqual({
      customer_id: 'cus_1',
      address_id: 'adr_1',
      tags: ['tradeengage', 'te-routing-r-42'],
      lead_source: 'TradeEngage',
      notes: 'Leaking water heater\n\nReferred by Acme Plumbing via TradeEngage.\nTrade: plumbing',
    });
  });
});
