import { ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

import Redis from 'ioredis';

import { freePort } from '../faults/processes';

/**
 * A redis-server of the test's own on a spare port, so the test can take Redis away without
 * touching the shared one. Stopped and restarted by its PID, on the same port (empty, as after a crash).
 */
export class RedisServer {
  private child: ChildProcess | null = null;

  private constructor(readonly port: number) {}

  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort());
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    for (let attempt = 0; attempt < 100; attempt++) {
      const client = new Redis(this.port, '127.0.0.1', {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      client.on('error', () => undefined);
      const pong = await client
        .connect()
        .then(() => client.ping())
        .catch(() => null);
      client.disconnect();
      if (pong === 'PONG') return;
      await sleep(100);
    }
    throw new Error(`redis-server did not start on port ${this.port}`);
  }

  /** SIGKILL, as a crash: clients see their connections drop. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(child.pid, 'SIGKILL');
    await exited;
    this.child = null;
  }
}
