import fc from 'fast-check';

import { ValidationError } from '../common/errors';
import { parseInstant, parseRange, planSegments, Segment } from './time-range';

const iso = (s: Segment) => ({ source: s.source, from: s.from.toISOString(), to: s.to.toISOString() });
const range = (from: string, to: string) => ({ from: new Date(from), to: new Date(to) });

describe('parseInstant', () => {
  it.each([
    ['2025-03-01', '2025-03-01T00:00:00.000Z'],
    ['2025-03-01T10:15Z', '2025-03-01T10:15:00.000Z'],
    ['2025-03-01T10:15:30.1234Z', '2025-03-01T10:15:30.123Z'],
    ['2025-03-01T10:15:30+02:00', '2025-03-01T08:15:30.000Z'],
    ['2025-03-01T00:30:00-05:30', '2025-03-01T06:00:00.000Z'],
    ['2024-02-29', '2024-02-29T00:00:00.000Z'],
    ['0050-06-01', '0050-06-01T00:00:00.000Z'],
  ])('%s is %s', (text, expected) => {
    expect(parseInstant(text)?.toISOString()).toBe(expected);
  });

  it.each([
    'yesterday',
    '2025-02-30',
    '2025-02-29',
    '2025-13-01',
    '2025-00-10',
    '0000-01-01',
    '2025-03-01T24:00:00Z',
    '2025-03-01T10:60Z',
    '2025-03-01T10:00:00',
    '2025-03-01T10:00:00+0200',
    '2025-03-01 10:00:00Z',
    '20250301',
  ])('refuses %s', (text) => {
    expect(parseInstant(text)).toBeNull();
  });
});

describe('parseRange', () => {
  const fields = (from?: string, to?: string) => {
    try {
      parseRange(from, to);
      return [];
    } catch (error) {
      return (error as ValidationError).errors!.map((e) => `${e.field}: ${e.message}`);
    }
  };

  it.each([
    ['2025-01-01', '2025-01-02', []],
    ['2024-01-01', '2025-02-04', []], // exactly 400 days (2024 is a leap year)
    ['2024-01-01', '2025-02-04T00:00:00.001Z', ['to: must be at most 400 days after from']],
    ['2025-01-02', '2025-01-01', ['to: must be after from']],
    ['2025-01-01', '2025-01-01', ['to: must be after from']],
    [undefined, undefined, ['from: is required', 'to: is required']],
    ['nope', '2025-02-30', expect.arrayContaining([expect.stringMatching(/^from: must be an ISO 8601/)])],
  ])('%s .. %s → %j', (from, to, expected) => {
    expect(fields(from, to)).toEqual(expected);
  });
});

describe('planSegments', () => {
  const all = { day: true, month: true };

  it('whole months from month rows, whole days around them from day rows, part days from facts', () => {
    expect(planSegments(range('2025-01-15T12:00:00Z', '2025-04-03T06:00:00Z'), all).map(iso)).toEqual([
      { source: 'facts', from: '2025-01-15T12:00:00.000Z', to: '2025-01-16T00:00:00.000Z' },
      { source: 'day', from: '2025-01-16T00:00:00.000Z', to: '2025-02-01T00:00:00.000Z' },
      { source: 'month', from: '2025-02-01T00:00:00.000Z', to: '2025-04-01T00:00:00.000Z' },
      { source: 'day', from: '2025-04-01T00:00:00.000Z', to: '2025-04-03T00:00:00.000Z' },
      { source: 'facts', from: '2025-04-03T00:00:00.000Z', to: '2025-04-03T06:00:00.000Z' },
    ]);
  });

  it('aligned to months: month rows only', () => {
    expect(planSegments(range('2025-01-01', '2025-03-01'), all).map(iso)).toEqual([
      { source: 'month', from: '2025-01-01T00:00:00.000Z', to: '2025-03-01T00:00:00.000Z' },
    ]);
  });

  it('within one day: facts only', () => {
    expect(planSegments(range('2025-01-01T01:00:00Z', '2025-01-01T05:00:00Z'), all).map(iso)).toEqual([
      { source: 'facts', from: '2025-01-01T01:00:00.000Z', to: '2025-01-01T05:00:00.000Z' },
    ]);
  });

  it('without day rows (referrer, partner) the part months come from facts', () => {
    expect(planSegments(range('2025-01-15', '2025-03-10'), { day: false, month: true }).map(iso)).toEqual([
      { source: 'facts', from: '2025-01-15T00:00:00.000Z', to: '2025-02-01T00:00:00.000Z' },
      { source: 'month', from: '2025-02-01T00:00:00.000Z', to: '2025-03-01T00:00:00.000Z' },
      { source: 'facts', from: '2025-03-01T00:00:00.000Z', to: '2025-03-10T00:00:00.000Z' },
    ]);
  });

  it('without month rows (by day) whole days come from day rows', () => {
    expect(planSegments(range('2025-01-15', '2025-03-10'), { day: true, month: false }).map(iso)).toEqual([
      { source: 'day', from: '2025-01-15T00:00:00.000Z', to: '2025-03-10T00:00:00.000Z' },
    ]);
  });

  it('always covers [from, to) exactly once, each row-backed segment on its grain', () => {
    const instant = fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) });
    const grains = fc.record({ day: fc.boolean(), month: fc.boolean() });
    fc.assert(
      fc.property(instant, fc.integer({ min: 1, max: 400 * 86_400_000 }), grains, (from, length, g) => {
        const r = { from: new Date(from), to: new Date(from + length) };
        const segments = planSegments(r, g);
        expect(segments[0].from).toEqual(r.from);
        expect(segments[segments.length - 1].to).toEqual(r.to);
        segments.forEach((s, i) => {
          expect(s.from < s.to).toBe(true);
          if (i) expect(s.from).toEqual(segments[i - 1].to);
          if (s.source !== 'facts') expect(g[s.source]).toBe(true);
          if (s.source === 'day') expect([s.from.getTime() % 86_400_000, s.to.getTime() % 86_400_000]).toEqual([0, 0]);
          if (s.source === 'month')
            expect([s.from.getUTCDate(), s.to.getUTCDate(), s.to.getUTCHours()]).toEqual([1, 1, 0]);
        });
      }),
    );
  });
});
