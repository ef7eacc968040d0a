import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Every child the suite starts, so that a crash or Ctrl-C of the suite still stops them (by PID). */
const running = new Set<ManagedProcess>();

export function stopAll(): void {
  for (const p of running) p.signal('SIGKILL');
}

/**
 * One OS process of the suite: started with its own environment, stdout and stderr appended to a log
 * file, restartable (each start is a new PID). Only ever signalled through its own PID.
 */
export class ManagedProcess {
  private child: ChildProcess | null = null;
  private exitPromise: Promise<Exit> | null = null;
  private expectingExit = false;
  /** Exits nobody asked for (crashes), with the time they happened. */
  readonly unexpectedExits: { at: number; exit: Exit }[] = [];
  starts = 0;

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly args: string[],
    private readonly env: Record<string, string>,
    private readonly logFile: string,
    private readonly cwd: string,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get alive(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    if (this.alive) throw new Error(`${this.name} is already running`);
    const fd = openSync(this.logFile, 'a');
    writeSync(fd, `\n===== ${new Date().toISOString()} start #${this.starts + 1} of ${this.name} =====\n`);
    const child = spawn(this.command, this.args, {
      cwd: this.cwd,
      env: { PATH: process.env.PATH ?? '', ...this.env },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    this.child = child;
    this.starts++;
    this.expectingExit = false;
    running.add(this);
    this.exitPromise = new Promise<Exit>((resolve) => {
      child.once('exit', (code, signal) => {
        running.delete(this);
        const exit = { code, signal };
        if (!this.expectingExit) this.unexpectedExits.push({ at: Date.now(), exit });
        resolve(exit);
      });
    });
  }

  /** Sends a signal to this process's PID (never by name); the exit that follows is expected. */
  signal(signal: NodeJS.Signals): void {
    if (!this.alive || !this.child?.pid) return;
    this.expectingExit = true;
    process.kill(this.child.pid, signal);
  }

  /** Resolves with the exit, or null after `timeoutMs`. */
  async waitForExit(timeoutMs: number): Promise<Exit | null> {
    if (!this.exitPromise) return null;
    return Promise.race([this.exitPromise, sleep(timeoutMs).then(() => null)]);
  }

  async kill(): Promise<void> {
    this.signal('SIGKILL');
    await this.waitForExit(10_000);
  }
}

/** A port that was free a moment ago (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it is truthy or `timeoutMs` passes; throws naming `what`. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 200,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.ok;
}
