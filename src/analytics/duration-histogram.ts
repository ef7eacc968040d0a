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

// analytics_bucket caps buckets at 1023 (2^64 ms): one scratch array of counts serves every median.
const MAX_BUCKET = 1023;
const scratch = new Float64Array(MAX_BUCKET + 1);

/**
 * The durations of one group: the encoded histograms of its rollup rows and facts, kept as they came and decoded
 * only to take the median (a network funnel by partner merges some 10,000 groups of a dozen parts each).
 */
export class DurationHistogram {
  private readonly parts: Buffer[] = [];

  get total(): number {
    let n = 0;
    for (const part of this.parts) for (let at = 4; at + 4 <= part.length; at += 8) n += part.readInt32BE(at);
    return n;
  }

  /** Adds an encoded histogram (see encodeHistogram), or several concatenated. */
  addEncoded(encoded: Buffer | null | undefined): void {
    if (encoded?.length) this.parts.push(encoded);
  }

  merge(other: DurationHistogram): void {
    for (const part of other.parts) this.parts.push(part);
  }

  /** The lower median (the ⌈n/2⌉-th smallest duration), as its bucket's middle value; null when empty. */
  medianMs(): number | null {
    let low = MAX_BUCKET + 1;
    let high = -1;
    let n = 0;
    for (const part of this.parts) {
      for (let at = 0; at + 8 <= part.length; at += 8) {
        const bucket = part.readInt32BE(at);
        const count = part.readInt32BE(at + 4);
        scratch[bucket] += count;
        n += count;
        if (bucket < low) low = bucket;
        if (bucket > high) high = bucket;
      }
    }
    let median: number | null = null;
    if (n > 0) {
      const rank = Math.ceil(n / 2);
      let seen = 0;
      for (let bucket = low; bucket <= high && median === null; bucket++) {
        seen += scratch[bucket];
        if (seen >= rank) median = bucketMiddleMs(bucket);
      }
    }
    if (high >= low) scratch.fill(0, low, high + 1);
    return median;
  }
}
