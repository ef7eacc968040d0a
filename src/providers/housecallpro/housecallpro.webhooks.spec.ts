import { housecallProWebhooks } from './housecallpro.webhooks';

describe('housecallProWebhooks.parse', () => {
  it('job.* events name the job a routing tracks; the job version tells redeliveries from new changes', () => {
    const body = { event: 'job.completed', company_id: 'c1', job: { id: 'job_1', updated_at: '2025-12-09T10:00:00Z' } };
    expect(housecallProWebhooks.parse(body)).toEqual([
      {
        kind: 'changed',
        topic: 'job.completed',
        key: 'job.completed:job_1:2025-12-09T10:00:00Z',
        record: { externalId: 'job_1' },
      },
    ]);
    const later = { ...body, job: { ...body.job, updated_at: '2025-12-09T10:05:00Z' } };
    expect(housecallProWebhooks.parse(later)[0]).not.toMatchObject({ key: 'job.completed:job_1:2025-12-09T10:00:00Z' });
  });

  it.each([
    ['a customer event', { event: 'customer.created', customer: { id: 'cus_1' } }],
    ['a job event without a job', { event: 'job.started' }],
    ['a job id that is not a string', { event: 'job.started', job: { id: 5 } }],
    ['no event', { job: { id: 'job_1' } }],
    ['a string', 'job.completed'],
  ])('ignores %s', (_, body) => {
    expect(housecallProWebhooks.parse(body)).toEqual([{ kind: 'ignored', topic: expect.any(String) }]);
  });
});
