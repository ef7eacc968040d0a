import { Server } from 'node:http';

import { INestApplication, Logger } from '@nestjs/common';

import { DrainReport, WorkerDrain } from './queue/worker-drain';

/**
 * SIGTERM and SIGINT drain the process (app.close(): workers finish their jobs, the HTTP server its
 * requests, then the connections close) and always exit within `timeoutMs`, whatever is down (SPEC
 * section 12): a drain waiting on Redis or PostgreSQL is cut short, and what it could not finish is
 * left to the sweeps (a routing left `syncing` is rescued by cleanup, a job left active in Redis is
 * re-queued by BullMQ's stalled check). One log line says which way it ended.
 */
export function exitOnShutdownSignals(app: INestApplication, timeoutMs: number): void {
  const logger = new Logger('Shutdown');
  let started = 0;

  const report = async (): Promise<Partial<DrainReport> & { openHttpConnections?: number }> => {
    const server = app.getHttpServer() as Server;
    const openHttpConnections = await new Promise<number | undefined>((resolve) =>
      server.getConnections((error, n) => resolve(error ? undefined : n)),
    );
    return { ...drainOf(app)?.report(), openHttpConnections };
  };

  const shutDown = (signal: NodeJS.Signals) => {
    if (started) return;
    started = Date.now();
    logger.log({ signal, timeoutMs }, 'Shutting down: draining in-flight work');
    const deadline = setTimeout(() => {
      void report().then((state) => {
        logger.warn(
          { signal, durationMs: Date.now() - started, ...state },
          'Shutdown timed out: exiting; unfinished work is left to the sweeps',
        );
        process.exit(1);
      });
    }, timeoutMs);
    app.close().then(
      () => {
        clearTimeout(deadline);
        logger.log({ signal, durationMs: Date.now() - started, ...drainOf(app)?.report() }, 'Shutdown complete');
        process.exit(0);
      },
      (error: Error) => {
        clearTimeout(deadline);
        logger.error({ signal, durationMs: Date.now() - started, err: error.message }, 'Shutdown failed; exiting');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutDown);
  process.on('SIGINT', shutDown);
}

/** The worker drain, in the modes that run workers. */
function drainOf(app: INestApplication): WorkerDrain | undefined {
  try {
    return app.get(WorkerDrain, { strict: false });
  } catch {
    return undefined;
  }
}
