import { serviceTitanWebhooks } from './servicetitan.webhooks';

const event = (eventType: string, data: Record<string, unknown>, eventId: unknown = 'evt-1') => ({
  eventId,
  eventType,
  tenantId: 1001,
  createdOn: '2025-12-09T10:00:00Z',
  data,
});

describe('serviceTitanWebhooks.parse', () => {
  it.each([
    ['bookingId first', event('Job.Completed', { id: 9, jobId: 9, bookingId: 5 }), { externalId: '5' }],
    ['then jobId', event('Job.Completed', { id: 3, jobId: 9 }), { item: { type: 'job', id: '9' } }],
    ['then the id of a Job event', event('Job.Scheduled', { id: 9 }), { item: { type: 'job', id: '9' } }],
    ['then the id of a Booking event', event('Booking.Dismissed', { id: 5 }), { externalId: '5' }],
    ['ids given as digits', event('Booking.Dismissed', { id: '5', bookingId: '5' }), { externalId: '5' }],
  ])('finds the routing by %s', (_, body, record) => {
    expect(serviceTitanWebhooks.parse(body)).toEqual([
      { kind: 'changed', topic: body.eventType, key: 'evt-1', record },
    ]);
  });

  it('tells events apart by eventId, or by their own fields without one', () => {
    expect(serviceTitanWebhooks.parse(event('Job.Completed', { id: 9, bookingId: 5 }, null))[0]).toMatchObject({
      key: 'Job.Completed:5:2025-12-09T10:00:00Z',
    });
  });

  it.each([
    ['an unknown event type', event('Invoice.Created', { id: 7, jobId: 9 })],
    ['no data', { eventId: 'e', eventType: 'Job.Completed' }],
    ['ids that are not integers', event('Job.Completed', { id: 'x', jobId: -1, bookingId: 1.5 })],
    ['another shape', ['Job.Completed']],
  ])('ignores %s', (_, body) => {
    expect(serviceTitanWebhooks.parse(body)).toEqual([{ kind: 'ignored', topic: expect.any(String) }]);
  });
});
