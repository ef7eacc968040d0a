/**
 * Durations as the rollups keep them: bucket b holds the durations d (ms) with floor(16 × log2(1 + d)) = b, as
 * computed by the database function `analytics_bucket` (the only definition). 16 buckets per doubling keep a
 * median within MEDIAN_MAX_ERROR of the true one while a rollup row stores one count per bucket used.
 */
export const BUCKETS_PER_DOUBLING = 16;

/**
 * A bucket's middle value is within this fraction of (1 + d) of every duration d in it: the documented bound of
 * a median (|reported − true| ≤ 2.2% × (true + 1 ms) + 0.5 ms, the 0.5 ms from rounding to whole milliseconds).
 */
export const MEDIAN_MAX_ERROR = 2 ** (1 / (2 * BUCKETS_PER_DOUBLING)) - 1;

/** The geometric middle of a bucket, in whole milliseconds. */
export function bucketMiddleMs(bucket: number): number {
  return Math.round(2 ** ((bucket + 0.5) / BUCKETS_PER_DOUBLING) - 1);
}

/** Counts per bucket, merged from rollup rows (`{bucket: count}`) and from facts (lists of buckets). */
export class DurationHistogram {
  private readonly counts = new Map<number, number>();
  private n = 0;

  get total(): number {
    return this.n;
  }

  add(bucket: number, count = 1): void {
    this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + count);
    this.n += count;
  }

  addCounts(counts: Record<string, number> | null | undefined): void {
    for (const [bucket, count] of Object.entries(counts ?? {})) this.add(Number(bucket), Number(count));
  }

  addBuckets(buckets: (number | string)[] | null | undefined): void {
    for (const bucket of buckets ?? []) this.add(Number(bucket));
  }

  merge(other: DurationHistogram): void {
    for (const [bucket, count] of other.counts) this.add(bucket, count);
  }

  /** The lower median (the ⌈n/2⌉-th smallest duration), as its bucket's middle value; null when empty. */
  medianMs(): number | null {
    if (!this.n) return null;
    const rank = Math.ceil(this.n / 2);
    let seen = 0;
    for (const bucket of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(bucket)!;
      if (seen >= rank) return bucketMiddleMs(bucket);
    }
    return null;
  }
}
