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

/**
 * A histogram as the database stores it (`analytics_hist_add`): (bucket, count) pairs of big-endian int4, sorted by
 * bucket, without zero counts. Concatenations of such (string_agg) decode the same way.
 */
export function encodeHistogram(counts: Map<number, number>): Buffer {
  const buckets = [...counts.keys()].filter((b) => counts.get(b) !== 0).sort((a, b) => a - b);
  const encoded = Buffer.alloc(buckets.length * 8);
  buckets.forEach((bucket, i) => {
    encoded.writeInt32BE(bucket, i * 8);
    encoded.writeInt32BE(counts.get(bucket)!, i * 8 + 4);
  });
  return encoded;
}

/** Counts per bucket, merged from rollup rows and facts (encoded histograms). */
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

  /** Adds an encoded histogram (see encodeHistogram), or several concatenated. */
  addEncoded(encoded: Buffer | null | undefined): void {
    if (!encoded) return;
    for (let at = 0; at + 8 <= encoded.length; at += 8) this.add(encoded.readInt32BE(at), encoded.readInt32BE(at + 4));
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
