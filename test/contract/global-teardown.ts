import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { FileResults } from './contract-recorder';
import { DOCUMENT_FILE, RESULTS_DIR } from './openapi-contract';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** After the whole run: how many responses were validated against the document, and which operations none reached. */
export default function contractSummary(): void {
  if (!existsSync(RESULTS_DIR)) return;
  const files = readdirSync(RESULTS_DIR).map(
    (f) => JSON.parse(readFileSync(join(RESULTS_DIR, f), 'utf8')) as FileResults,
  );
  const validated = files.reduce((n, f) => n + f.validated, 0);
  const outside = files.reduce((n, f) => n + f.outsideDocument, 0);
  const violations = files.reduce((n, f) => n + f.violations.length, 0);
  const seen = new Set(files.flatMap((f) => Object.keys(f.matched)).map((m) => m.split(' ').slice(0, 2).join(' ')));
  const document = JSON.parse(readFileSync(DOCUMENT_FILE, 'utf8')) as { paths: Record<string, object> };
  const operations = Object.entries(document.paths).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((m) => METHODS.includes(m))
      .map((m) => `${m.toUpperCase()} ${path}`),
  );
  const unseen = operations.filter((o) => !seen.has(o));
  console.log(
    `\nOpenAPI contract: ${validated} responses validated against the document in ${files.length} test files, ` +
      `${violations} violations; ${operations.length - unseen.length} of ${operations.length} operations exercised` +
      (unseen.length ? ` (not: ${unseen.join(', ')})` : '') +
      `; ${outside} responses of routes outside the document (docs, Bull Board).`,
  );
}
