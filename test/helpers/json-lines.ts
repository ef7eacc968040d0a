/**
 * Log lines as a pipeline reads them: each must be one JSON object, and no object may name a key
 * twice. JSON.parse quietly keeps the last of two equal keys, so duplicates are found by a scanner
 * that walks the text itself.
 */
export interface LogLineProblems {
  notJson: string[];
  duplicateKeys: { line: string; keys: string[] }[];
}

export function checkLogLines(lines: string[]): LogLineProblems {
  const problems: LogLineProblems = { notJson: [], duplicateKeys: [] };
  for (const line of lines) {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      value = undefined;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.notJson.push(line);
      continue;
    }
    const keys = duplicateKeys(line);
    if (keys.length) problems.duplicateKeys.push({ line, keys });
  }
  return problems;
}

/** Keys that appear twice in one object of a valid JSON text, as `path.key` (e.g. `req.id`, `routingId`). */
export function duplicateKeys(json: string): string[] {
  let i = 0;
  const found: string[] = [];

  const skipSpace = () => {
    while (/\s/.test(json[i] ?? '')) i++;
  };
  const readString = (): string => {
    const start = i;
    i++; // opening quote
    while (json[i] !== '"') i += json[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(json.slice(start, i)) as string;
  };
  const readValue = (path: string): void => {
    skipSpace();
    const c = json[i];
    if (c === '{') {
      i++;
      const seen = new Set<string>();
      skipSpace();
      if (json[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        skipSpace();
        const key = readString();
        if (seen.has(key)) found.push(path ? `${path}.${key}` : key);
        seen.add(key);
        skipSpace();
        i++; // colon
        readValue(path ? `${path}.${key}` : key);
        skipSpace();
        if (json[i++] === '}') return;
      }
    }
    if (c === '[') {
      i++;
      skipSpace();
      if (json[i] === ']') {
        i++;
        return;
      }
      for (let n = 0; ; n++) {
        readValue(`${path}[${n}]`);
        skipSpace();
        if (json[i++] === ']') return;
      }
    }
    if (c === '"') {
      readString();
      return;
    }
    while (i < json.length && !/[,}\]\s]/.test(json[i])) i++; // number, true, false, null
  };

  readValue('');
  return found;
}
