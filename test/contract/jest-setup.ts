import { flushResults } from './contract-recorder';

// Runs after each test file: a response that broke the OpenAPI contract fails the file, listing every violation.
afterAll(() => {
  const violations = flushResults(expect.getState().testPath ?? 'unknown');
  if (violations.length) {
    throw new Error(`${violations.length} response(s) broke the OpenAPI contract:\n  ${violations.join('\n  ')}`);
  }
});
