import fc from 'fast-check';

import {
  BUCKETS_PER_DOUBLING,
  DurationHistogram,
  MEDIAN_MAX_ERROR,
  bucketMiddleMs,
  encodeHistogram,
} from './duration-histogram';

// The database's analytics_bucket, for these properties only (the service never computes a bucket itself).
const bucketOf = (ms: number) => Math.floor(BUCKETS_PER_DOUBLING * Math.log2(1 + ms));
const counts = (buckets: number[]) => {
  const map = new Map<number, number>();
  for (const b of buckets) map.set(b, (map.get(b) ?? 0) + 1);
  return map;
};
const histogramOf = (buckets: number[]) => {
  const h = new DurationHistogram();
  h.addEncoded(encodeHistogram(counts(buckets)));
  return h;
};

describe('DurationHistogram', () => {
  it('the median is the lower median (the ⌈n/2⌉-th smallest), as its bucket middle', () => {
    const h = histogramOf([bucketOf(100), bucketOf(5000)]);
    expect(h.medianMs()).toBe(bucketMiddleMs(bucketOf(100)));
    h.addEncoded(encodeHistogram(counts([bucketOf(5000)])));
    expect(h.medianMs()).toBe(bucketMiddleMs(bucketOf(5000)));
    expect(h.total).toBe(3);
    expect(new DurationHistogram().medianMs()).toBeNull();
  });

  it('encodes (bucket, count) pairs as big-endian int4, sorted, without zeros; negative counts survive', () => {
    const encoded = encodeHistogram(
      new Map([
        [300, 2],
        [7, -1],
        [12, 0],
      ]),
    );
    expect(encoded.toString('hex')).toBe('00000007ffffffff0000012c00000002');
  });

  it('concatenated histograms (string_agg of rows) merge like one histogram of all', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 0, max: 600 }), { maxLength: 20 }), { maxLength: 8 }),
        (parts) => {
          const merged = new DurationHistogram();
          merged.addEncoded(Buffer.concat(parts.map((p) => encodeHistogram(counts(p)))));
          const whole = histogramOf(parts.flat());
          expect(merged.medianMs()).toBe(whole.medianMs());
          expect(merged.total).toBe(whole.total);
        },
      ),
    );
  });

  it('a median is within the documented bound of the exact lower median', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 400 * 86_400_000 }), { minLength: 1, maxLength: 50 }), (ms) => {
        const h = histogramOf(ms.map(bucketOf));
        const exact = [...ms].sort((a, b) => a - b)[Math.ceil(ms.length / 2) - 1];
        expect(Math.abs(h.medianMs()! - exact)).toBeLessThanOrEqual(MEDIAN_MAX_ERROR * (exact + 1) + 0.5);
      }),
    );
    expect(MEDIAN_MAX_ERROR).toBeLessThan(0.022);
  });
});
