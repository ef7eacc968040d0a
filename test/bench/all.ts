/**
 * `npm run bench`: builds once, then runs every benchmark of the performance table one after another, each as a
 * child process (`ts-node -T test/bench/<name>.bench.ts`), and writes test/bench/RESULTS.md: the date, the
 * machine's load average before and after, the Node version, one table row per `RESULT {json}` line the benches
 * printed (test/bench/lib/results.ts), and the command that reproduces it.
 *
 * A bench that fails, times out or prints no RESULT line adds a failed row; the others still run. Each bench's full
 * output goes to test/artifacts/bench/<name>.log.
 *
 *   npm run bench                          all of them
 *   npm run bench -- --only=jobs,poll      some of them (names below; `jobs-create` works too)
 *   npm run bench -- --skip-build          without `npm run build` first (dist/ must be current)
 *
 * Env: BENCH_TIMEOUT_MS per bench (600000); every other variable is passed to the benches as it is
 * (BENCH_REDIS_URL, BENCH_WINDOW_S=60 for a shorter throughput run, ...).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, relative } from 'node:path';

import { ROOT } from './lib/harness';
import { BenchResult } from './lib/results';

interface Bench {
  name: string;
  file: string;
  /** Aliases accepted by --only. */
  aliases?: string[];
}

/** The benches that measure a row of the performance table (issue 13), in the order they run. */
const BENCHES: Bench[] = [
  { name: 'jobs', file: 'jobs-create.bench.ts', aliases: ['jobs-create'] },
  { name: 'sync-latency', file: 'sync-latency.bench.ts', aliases: ['sync'] },
  { name: 'throughput', file: 'throughput.bench.ts' },
  { name: 'poll', file: 'poll.bench.ts' },
  { name: 'sweeps', file: 'sweeps.bench.ts' },
  { name: 'worker-rss', file: 'worker-rss.bench.ts', aliases: ['rss'] },
];

const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_MS ?? 600_000);
const ARTIFACTS = join(ROOT, 'test/artifacts/bench');
const RESULTS_FILE = join(ROOT, 'test/bench/RESULTS.md');

interface Row {
  bench: string;
  result: BenchResult | { measure: string; now: string; target: string; met: null };
}

interface Outcome {
  bench: Bench;
  code: number | null;
  timedOut: boolean;
  seconds: number;
  results: BenchResult[];
  log: string;
}

function parseArgs(argv: string[]): { only?: Set<string>; build: boolean } {
  let only: Set<string> | undefined;
  let build = true;
  for (const arg of argv) {
    if (arg.startsWith('--only=')) only = new Set(arg.slice('--only='.length).split(',').filter(Boolean));
    else if (arg === '--skip-build') build = false;
    else throw new Error(`unknown argument ${arg} (use --only=jobs,poll or --skip-build)`);
  }
  if (only) {
    const known = new Set(BENCHES.flatMap((b) => [b.name, ...(b.aliases ?? [])]));
    const unknown = [...only].filter((n) => !known.has(n));
    if (unknown.length)
      throw new Error(`unknown bench ${unknown.join(', ')}; known: ${BENCHES.map((b) => b.name).join(', ')}`);
  }
  return { only, build };
}

const loadLine = () =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(' / ');

/** Runs one bench; its output goes to its log file and its RESULT lines are collected. */
function runBench(bench: Bench): Promise<Outcome> {
  const log = join(ARTIFACTS, `${bench.name}.log`);
  const out = createWriteStream(log);
  const started = Date.now();
  const results: BenchResult[] = [];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [require.resolve('ts-node/dist/bin'), '-T', join('test/bench', bench.file)], {
      cwd: ROOT,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: false,
    });
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out.write(chunk);
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('RESULT ')) continue;
        try {
          results.push(JSON.parse(line.slice('RESULT '.length)) as BenchResult);
        } catch {
          // a malformed line is left in the log
        }
      }
    });
    child.stderr.on('data', (chunk: Buffer) => out.write(chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // SIGINT first: each bench stops its own child processes by PID on it; SIGKILL if it does not end.
      child.kill('SIGINT');
      setTimeout(() => child.kill('SIGKILL'), 30_000).unref();
    }, TIMEOUT_MS);
    child.once('close', (code) => {
      clearTimeout(timer);
      out.end();
      resolve({ bench, code, timedOut, seconds: (Date.now() - started) / 1000, results, log });
    });
  });
}

function rowsOf(outcome: Outcome): Row[] {
  const rows: Row[] = outcome.results.map((result) => ({ bench: outcome.bench.name, result }));
  // A bench that failed, or reported nothing, is a failed row of its own: a broken bench cannot hide.
  const why = outcome.timedOut
    ? `timed out after ${TIMEOUT_MS / 1000} s`
    : outcome.code !== 0
      ? `failed (exit ${outcome.code})`
      : outcome.results.length
        ? undefined
        : 'printed no RESULT line';
  if (why) {
    rows.push({
      bench: outcome.bench.name,
      result: { measure: `${outcome.bench.name} bench (${outcome.bench.file})`, now: why, target: '', met: null },
    });
  }
  return rows;
}

const cell = (s: string) => s.replace(/\|/g, '\\|');

function markdown(o: {
  started: Date;
  loadBefore: string;
  loadAfter: string;
  outcomes: Outcome[];
  command: string;
}): string {
  const rows = o.outcomes.flatMap(rowsOf);
  const met = rows.filter((r) => r.result.met === true).length;
  return [
    '# Benchmark results',
    '',
    `- date: ${o.started.toISOString()} (took ${Math.round(o.outcomes.reduce((n, x) => n + x.seconds, 0) / 60)} min)`,
    `- machine: ${process.platform} ${process.arch}, ${cpus().length} cores; node ${process.version}`,
    `- load average (1 / 5 / 15 min): before ${o.loadBefore}; after ${o.loadAfter}`,
    `- ${met} of ${rows.length} targets met`,
    '',
    '| measure | now | target | met? |',
    '|---|---|---|---|',
    ...rows.map(
      ({ result: r }) =>
        `| ${cell(r.measure)} | ${cell(r.now)} | ${cell(r.target)} | ${r.met === null ? 'FAILED' : r.met ? 'yes' : 'no'} |`,
    ),
    '',
    '| bench | exit | seconds | log |',
    '|---|---|---|---|',
    ...o.outcomes.map(
      (x) =>
        `| ${x.bench.name} | ${x.timedOut ? 'timeout' : x.code} | ${x.seconds.toFixed(0)} | ${relative(ROOT, x.log)} |`,
    ),
    '',
    `Reproduce: \`${o.command}\``,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const { only, build } = parseArgs(process.argv.slice(2));
  const selected = BENCHES.filter((b) => !only || only.has(b.name) || (b.aliases ?? []).some((a) => only.has(a)));
  mkdirSync(ARTIFACTS, { recursive: true });
  const started = new Date();
  const loadBefore = loadLine();
  if (build) {
    console.log('npm run build');
    const built = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
    if (built.status !== 0) throw new Error(`npm run build failed (exit ${built.status})`);
  }
  const outcomes: Outcome[] = [];
  for (const bench of selected) {
    console.log(
      `\n${bench.name}: test/bench/${bench.file} (log ${relative(ROOT, join(ARTIFACTS, `${bench.name}.log`))})`,
    );
    const outcome = await runBench(bench);
    outcomes.push(outcome);
    const status = outcome.timedOut ? 'TIMED OUT' : outcome.code === 0 ? 'ok' : `FAILED (exit ${outcome.code})`;
    console.log(`${bench.name}: ${status} in ${outcome.seconds.toFixed(0)} s`);
    for (const r of outcome.results)
      console.log(`  ${r.met ? 'met    ' : 'NOT met'} ${r.measure}: ${r.now} (${r.target})`);
  }
  const command = `npm run bench${only ? ` -- --only=${[...only].join(',')}` : ''}`;
  const text = markdown({ started, loadBefore, loadAfter: loadLine(), outcomes, command });
  writeFileSync(RESULTS_FILE, text);
  console.log(`\n${text}\nwritten to ${relative(ROOT, RESULTS_FILE)}`);
  if (outcomes.some((x) => x.timedOut || x.code !== 0)) process.exitCode = 1;
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
