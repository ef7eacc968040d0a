import { Referral } from '../field-service-provider';
import { decimalToCents, invoiceRevenueCents, mapBookingStatus, toCreateBookingRequest } from './servicetitan.mapper';
import { StBooking, StJob } from './servicetitan.types';

describe('decimalToCents', () => {
  it.each<[string | number, number]>([
    ['19.99', 1999],
    ['1234.5', 123450],
    ['0.00', 0],
    ['0', 0],
    ['-5.25', -525],
    ['-0.01', -1],
    ['+3.10', 310],
    ['.5', 50],
    ['7.', 700],
    [' 12.34 ', 1234],
    ['0.105', 11],
    ['0.104', 10],
    ['-0.105', -11],
    ['1000000000.01', 100000000001],
    ['0.29', 29],
    ['1.15', 115],
    [19.99, 1999],
    [0.07, 7],
    [-12.5, -1250],
  ])('%p → %p', (value, cents) => {
    expect(decimalToCents(value)).toBe(cents);
  });

  it.each(['', 'abc', '1,234.00', '1.2.3', '-', '.', '$5', 'NaN'])('rejects %p', (value) => {
    expect(() => decimalToCents(value)).toThrow('invalid decimal amount');
  });

  it('rejects amounts beyond safe integers', () => {
    expect(() => decimalToCents('999999999999999999.99')).toThrow('out of range');
  });
});

describe('invoiceRevenueCents', () => {
  it.each<[string, Array<string | number | null>, number | null]>([
    ['no invoice yet', [], null],
    ['one invoice', ['19.99'], 1999],
    ['float-unsafe sum', ['0.10', '0.20'], 30],
    ['credit memo', ['100.00', '-25.50'], 7450],
    ['zero revenue', ['0.00'], 0],
    ['null total', [null, '5.00'], 500],
  ])('%s', (_name, totals, expected) => {
    expect(invoiceRevenueCents(totals.map((total, i) => ({ id: i, total })))).toBe(expected);
  });
});

describe('mapBookingStatus', () => {
  const booking = (status: string, jobId?: number): StBooking => ({ id: 1, status, jobId: jobId ?? null });
  const job = (jobStatus: string, completedOn: string | null = null): StJob => ({ id: 9, jobStatus, completedOn });

  it.each<[string, StBooking, StJob | undefined, ReturnType<typeof mapBookingStatus>]>([
    ['new booking', booking('New'), undefined, { status: 'received', rawStatus: 'Booking:New', completedAt: null }],
    [
      'accepted booking',
      booking('Accepted'),
      undefined,
      { status: 'received', rawStatus: 'Booking:Accepted', completedAt: null },
    ],
    [
      'converted, job not visible',
      booking('Converted', 9),
      undefined,
      { status: 'received', rawStatus: 'Booking:Converted', completedAt: null },
    ],
    [
      'dismissed booking',
      booking('Dismissed'),
      undefined,
      { status: 'canceled', rawStatus: 'Booking:Dismissed', completedAt: null },
    ],
    ['unknown booking status', booking('Archived'), undefined, null],
    [
      'scheduled job',
      booking('Converted', 9),
      job('Scheduled'),
      { status: 'scheduled', rawStatus: 'Scheduled', completedAt: null },
    ],
    [
      'dispatched job',
      booking('Converted', 9),
      job('Dispatched'),
      { status: 'scheduled', rawStatus: 'Dispatched', completedAt: null },
    ],
    [
      'in-progress job',
      booking('Converted', 9),
      job('InProgress'),
      { status: 'in_progress', rawStatus: 'InProgress', completedAt: null },
    ],
    [
      'working job',
      booking('Converted', 9),
      job('Working'),
      { status: 'in_progress', rawStatus: 'Working', completedAt: null },
    ],
    ['job on hold', booking('Converted', 9), job('Hold'), { status: 'on_hold', rawStatus: 'Hold', completedAt: null }],
    [
      'completed job',
      booking('Converted', 9),
      job('Completed', '2025-03-04T05:06:07Z'),
      { status: 'completed', rawStatus: 'Completed', completedAt: new Date('2025-03-04T05:06:07Z') },
    ],
    [
      'completed job without date',
      booking('Converted', 9),
      job('Completed'),
      { status: 'completed', rawStatus: 'Completed', completedAt: null },
    ],
    [
      'canceled job',
      booking('Converted', 9),
      job('Canceled', '2025-03-04T05:06:07Z'),
      { status: 'canceled', rawStatus: 'Canceled', completedAt: null },
    ],
    ['unknown job status', booking('Converted', 9), job('Teleported'), null],
  ])('%s', (_name, b, j, expected) => {
    expect(mapBookingStatus(b, j)).toEqual(expected);
  });
});

describe('toCreateBookingRequest', () => {
  const referral: Referral = {
    routingId: 'r-1',
    jobId: 'j-1',
    referringCompanyName: 'Acme Plumbing',
    homeowner: { firstName: 'Ada', lastName: 'Lovelace', phone: '+15551234567', email: 'ada@example.com' },
    address: { street: '1 Main St', unit: 'Apt 2', city: 'Austin', state: 'TX', zip: '78701', country: 'US' },
    summary: 'Leaking water heater',
    trade: 'plumbing',
  };

  it('builds the booking with our routing id as externalId', () => {
    expect(toCreateBookingRequest(referral)).toEqual({
      source: 'TradeEngage referral from Acme Plumbing',
      name: 'Ada Lovelace',
      summary: 'Leaking water heater\n\nTrade: plumbing',
      isFirstTimeClient: true,
      externalId: 'r-1',
      address: { street: '1 Main St', unit: 'Apt 2', city: 'Austin', state: 'TX', zip: '78701', country: 'US' },
      contacts: [
        { type: 'MobilePhone', value: '+15551234567' },
        { type: 'Email', value: 'ada@example.com' },
      ],
      customerType: 'Residential',
    });
  });

  it('leaves out missing contacts, unit and trade', () => {
    const body = toCreateBookingRequest({
      ...referral,
      trade: null,
      homeowner: { firstName: 'Ada', lastName: 'Lovelace', phone: null, email: ' ' },
      address: { ...referral.address, unit: null },
    });
    expect(body.contacts).toEqual([]);
    expect(body.address).not.toHaveProperty('unit');
    expect(body.summary).toBe('Leaking water heater');
  });
});
