/**
 * One line per measured target, for `npm run bench` (test/bench/all.ts) to collect into RESULTS.md.
 * A bench prints its human-readable summary as before and, for each measure of the performance table,
 * one `RESULT {json}` line.
 */
export interface BenchResult {
  /** The measure as the performance table names it, e.g. "service CPU per POST /api/jobs". */
  measure: string;
  /** What this run measured, with its unit, e.g. "1.1 ms". */
  now: string;
  /** The target, e.g. "≤ 1.2 ms". */
  target: string;
  met: boolean;
}

export function reportResult(result: BenchResult): void {
  console.log(`RESULT ${JSON.stringify(result)}`);
}
