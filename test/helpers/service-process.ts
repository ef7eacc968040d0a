import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');

/** Compiles the service (`tsc -p tsconfig.build.json`) into test/artifacts/<name>; returns its main.js. */
export function buildService(name: string): string {
  const outDir = join(ROOT, 'test', 'artifacts', name);
  const tsc = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );
  if (tsc.status !== 0) throw new Error(`the build failed:\n${tsc.stdout}${tsc.stderr}`);
  return join(outDir, 'src', 'main.js');
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The compiled service as its own OS process, as in production; every line it prints is kept. */
export class ServiceProcess {
  readonly lines: string[] = [];
  private readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  private partial = { stdout: '', stderr: '' };

  constructor(mainJs: string, env: Record<string, string>) {
    this.child = spawn(process.execPath, [mainJs], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      this.child[stream]!.on('data', (chunk: Buffer) => {
        const text = this.partial[stream] + chunk.toString('utf8');
        const parts = text.split('\n');
        this.partial[stream] = parts.pop() ?? '';
        this.lines.push(...parts.filter((l) => l.length));
      });
    }
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        for (const rest of Object.values(this.partial)) if (rest) this.lines.push(rest);
        resolve({ code, signal });
      }),
    );
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends a signal to this process's PID. */
  signal(signal: NodeJS.Signals): void {
    if (this.running && this.child.pid) process.kill(this.child.pid, signal);
  }

  /** The JSON log lines with this `msg`. */
  logged(msg: string): Record<string, unknown>[] {
    return this.lines.flatMap((line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        return entry.msg === msg ? [entry] : [];
      } catch {
        return [];
      }
    });
  }
}
