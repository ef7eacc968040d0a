import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

import { ObservedResponse, OpenApiContract, RESULTS_DIR } from './openapi-contract';

/**
 * Every response the e2e suites receive goes through `recordResponse` (test/helpers/http.ts and the suites that
 * send raw requests). Violations are collected and fail the test file at its end (test/contract/jest-setup.ts);
 * the totals are summed up after the run (test/contract/global-teardown.ts).
 */

export interface FileResults {
  file: string;
  validated: number;
  outsideDocument: number;
  matched: Record<string, number>;
  violations: string[];
}

let contract: OpenApiContract | undefined;
const modes = new Map<string, string>();
const results: Omit<FileResults, 'file'> = { validated: 0, outsideDocument: 0, matched: {}, violations: [] };

/**
 * Validates this test file's responses against another document: the one an app with extra providers registered
 * (test/e2e/provider-seam.e2e-spec.ts) publishes itself.
 */
export function useContractDocument(document: Record<string, unknown>): void {
  contract = new OpenApiContract(document);
}

/** startTestApp tells which mode an app runs in (a worker answers 404 for the API's operations). */
export function registerAppMode(baseUrl: string, mode: string): void {
  modes.set(new URL(baseUrl).origin, mode);
}

export function recordResponse(baseUrl: string, response: Omit<ObservedResponse, 'mode'>): void {
  contract ??= OpenApiContract.load();
  const { matched, violations } = contract.check({ ...response, mode: modes.get(new URL(baseUrl).origin) });
  if (matched === null) {
    results.outsideDocument++;
    return;
  }
  results.validated++;
  results.matched[matched] = (results.matched[matched] ?? 0) + 1;
  const test = expect.getState().currentTestName ?? '(outside a test)';
  for (const violation of violations) {
    if (results.violations.length < 200) results.violations.push(`${violation}\n    in: ${test}`);
  }
}

/** Writes this test file's results for the summary and returns its violations. */
export function flushResults(testPath: string): string[] {
  if (results.validated || results.outsideDocument) {
    mkdirSync(RESULTS_DIR, { recursive: true });
    const file: FileResults = { file: testPath, ...results };
    writeFileSync(join(RESULTS_DIR, `${basename(testPath)}.json`), JSON.stringify(file));
  }
  return results.violations;
}
