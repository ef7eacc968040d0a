import fc from 'fast-check';

import { BUCKETS_PER_DOUBLING, DurationHistogram, MEDIAN_MAX_ERROR, bucketMiddleMs } from './duration-histogram';

// The database's analytics_bucket, for these properties only (the service never computes a bucket itself).
const bucketOf = (ms: number) => Math.floor(BUCKETS_PER_DOUBLING * Math.log2(1 + ms));

describe('DurationHistogram', () => {
  it('the median is the lower median (the ⌈n/2⌉-th smallest), as its bucket middle', () => {
    const h = new DurationHistogram();
    h.addBuckets([bucketOf(100), bucketOf(5000)]);
    expect(h.medianMs()).toBe(bucketMiddleMs(bucketOf(100)));
    h.addCounts({ [bucketOf(5000)]: 1 });
    expect(h.medianMs()).toBe(bucketMiddleMs(bucketOf(5000)));
    expect(h.total).toBe(3);
    expect(new DurationHistogram().medianMs()).toBeNull();
  });

  it('merging rollup histograms and bucket lists gives the same median as one histogram of all', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 0, max: 600 }), { maxLength: 20 }), { maxLength: 8 }),
        (parts) => {
          const merged = new DurationHistogram();
          const whole = new DurationHistogram();
          parts.forEach((buckets, i) => {
            const part = new DurationHistogram();
            if (i % 2) part.addBuckets(buckets);
            else {
              const counts: Record<string, number> = {};
              for (const b of buckets) counts[b] = (counts[b] ?? 0) + 1;
              part.addCounts(counts);
            }
            merged.merge(part);
            whole.addBuckets(buckets);
          });
          expect(merged.medianMs()).toBe(whole.medianMs());
          expect(merged.total).toBe(whole.total);
        },
      ),
    );
  });

  it('a median is within the documented bound of the exact lower median', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 400 * 86_400_000 }), { minLength: 1, maxLength: 50 }), (ms) => {
        const h = new DurationHistogram();
        h.addBuckets(ms.map(bucketOf));
        const exact = [...ms].sort((a, b) => a - b)[Math.ceil(ms.length / 2) - 1];
        expect(Math.abs(h.medianMs()! - exact)).toBeLessThanOrEqual(MEDIAN_MAX_ERROR * (exact + 1) + 0.5);
      }),
    );
    expect(MEDIAN_MAX_ERROR).toBeLessThan(0.022);
  });
});
