import type { RoutingChange } from '../routing/routing-lifecycle';
import { jobEventTypes, routingEventTypes, subscribes } from './webhook-events';

const change = (c: Partial<RoutingChange>): RoutingChange => ({
  routingId: 'r',
  jobId: 'j',
  from: 'synced',
  to: 'synced',
  events: [],
  ...c,
});

describe('routingEventTypes', () => {
  it.each([
    ['pending created, nothing yet', { from: 'pending', to: 'pending' }, []],
    ['a failed attempt', { from: 'syncing', to: 'failed' }, []],
    ['an admin retry', { from: 'permanently_failed', to: 'pending' }, []],
    [
      'synced (received comes with it)',
      { from: 'syncing', to: 'synced', providerStatus: { from: null, to: 'received' } },
      ['routing.synced'],
    ],
    [
      'provider moved to scheduled',
      { providerStatus: { from: 'received', to: 'scheduled' } },
      ['routing.status_changed'],
    ],
    ['only the raw provider word changed', { providerStatus: { from: 'scheduled', to: 'scheduled' } }, []],
    [
      'completed by a poll',
      { to: 'completed', providerStatus: { from: 'in_progress', to: 'completed' } },
      ['routing.status_changed', 'routing.completed'],
    ],
    [
      'canceled by a poll',
      { to: 'canceled', providerStatus: { from: 'received', to: 'canceled' } },
      ['routing.status_changed', 'routing.canceled'],
    ],
    ['failed for good', { from: 'syncing', to: 'permanently_failed' }, ['routing.permanently_failed']],
    ['its connection became invalid', { from: 'synced', to: 'permanently_failed' }, ['routing.permanently_failed']],
  ] as const)('%s', (_, c, expected) => {
    expect(routingEventTypes(change(c as Partial<RoutingChange>))).toEqual(expected);
  });
});

describe('jobEventTypes', () => {
  it.each([
    [{ jobId: 'j', from: 'open', to: 'completed' }, ['job.completed']],
    [{ jobId: 'j', from: 'open', to: 'canceled' }, ['job.canceled']],
    [{ jobId: 'j', from: 'canceled', to: 'completed' }, ['job.completed']],
    [{ jobId: 'j', from: 'canceled', to: 'open' }, []],
    [{ jobId: 'j', from: 'completed', to: 'completed' }, []],
  ] as const)('%o', (c, expected) => {
    expect(jobEventTypes(c)).toEqual(expected);
  });
});

describe('subscribes', () => {
  it('takes every type when the endpoint named none, else only those named', () => {
    expect(subscribes([], 'job.canceled')).toBe(true);
    expect(subscribes(['routing.completed'], 'routing.completed')).toBe(true);
    expect(subscribes(['routing.completed'], 'job.completed')).toBe(false);
  });
});
