/**
 * bench:worker-rss: resident memory of an idle worker (APP_MODE=worker) started from the build.
 *
 * Processes: sandbox (node dist/src/sandbox/main.js; the worker is pointed at it, an idle worker calls nothing) and
 * one worker from dist/, database BENCH_DATABASE (default tradeengage_bench_worker_rss, fresh, real migrations),
 * Redis BENCH_REDIS_URL (default db 13, flushed). The crons are set never to fire: the worker is idle.
 * Once /api/health/live answers, the bench reads VmRSS from /proc/<pid>/status every second until the worker has
 * settled, and reports the median of the last BENCH_SAMPLES (5) readings as the idle figure. Settled: the young
 * generation V8 grew while loading the service (about 33 MB of semi-spaces) has been handed back by V8's memory
 * reducer, which happens 30-100 s into the idle (RSS at least 15% under its peak), and the last 30 readings lie
 * within 1 MB; at most BENCH_IDLE_MS (180 s). The reading 10 s after ready is printed too.
 * Baseline, same run: a bare `node` process idling.
 *
 * Env: BENCH_DATABASE, BENCH_REDIS_URL, BENCH_IDLE_MS (180000), BENCH_SAMPLES (5).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  Harness,
  assertBuilt,
  dbUrl,
  flushRedis,
  fmt,
  header,
  machineLine,
  median,
  recreateDatabase,
  serviceEnv,
} from './lib/harness';
import { reportResult } from './lib/results';

const DB = process.env.BENCH_DATABASE ?? 'tradeengage_bench_worker_rss';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/13';
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 180_000);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 5);
const TARGET_MB = 100;

/** VmRSS of a process in MB (from /proc/<pid>/status, reported in kB). */
function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) / 1024;
}

async function sampleRss(pid: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    if (i) await sleep(1000);
    samples.push(rssMb(pid));
  }
  return samples;
}

/** A bare Node process that only keeps its event loop alive: the floor any worker starts from. */
async function bareNodeRss(): Promise<number[]> {
  const child: ChildProcess = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  try {
    await sleep(1000);
    return await sampleRss(child.pid as number);
  } finally {
    child.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  assertBuilt();
  const harness = new Harness('worker-rss');
  const databaseUrl = dbUrl(DB);
  try {
    await recreateDatabase(DB);
    await flushRedis(REDIS_URL);
    await harness.migrate(databaseUrl);
    const sandbox = await harness.startSandbox();
    const worker = await harness.startService(
      'worker',
      serviceEnv({ mode: 'worker', databaseUrl, redisUrl: REDIS_URL, sandboxUrl: sandbox.url }),
    );
    const readings: number[] = [];
    const started = Date.now();
    let settled = false;
    while (!settled && Date.now() - started < IDLE_MS) {
      await sleep(1000);
      readings.push(rssMb(worker.pid));
      const last = readings.slice(-30);
      settled =
        readings.length >= 40 &&
        Math.max(...last) - Math.min(...last) <= 1 &&
        Math.max(...last) <= 0.85 * Math.max(...readings);
    }
    const idleS = (Date.now() - started) / 1000;
    const workerSamples = readings.slice(-SAMPLES);
    const at10s = readings[Math.min(readings.length, 10) - 1];
    const bareSamples = await bareNodeRss();
    const rss = median(workerSamples);
    const bare = median(bareSamples);
    const perTenSeconds = readings.filter((_, i) => i % 10 === 9).map((r) => fmt(r, 0));

    header('worker RSS idle', [
      `ratio: worker RSS idle ÷ target = ${fmt(rss / TARGET_MB, 2)} (${fmt(rss)} MB vs ≤ ${TARGET_MB} MB)`,
      `worker (APP_MODE=worker, node dist/src/main.js), ${settled ? 'settled' : 'NOT settled (young generation still held)'} ` +
        `${fmt(idleS, 0)} s after ready: median ${fmt(rss)} MB of the last ${workerSamples.map((s) => fmt(s)).join(', ')} MB`,
      `10 s after ready: ${fmt(at10s)} MB (before V8 hands back the young generation grown at startup)`,
      `every 10 s: ${perTenSeconds.join(', ')} MB`,
      `baseline, same run: bare node idling ${fmt(bare)} MB; the worker adds ${fmt(rss - bare)} MB`,
      machineLine(),
    ]);
    reportResult({
      measure: 'worker RSS idle',
      now: `${fmt(rss)} MB`,
      target: `≤ ${TARGET_MB} MB`,
      met: rss <= TARGET_MB,
    });
  } finally {
    await harness.stopAll();
  }
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
