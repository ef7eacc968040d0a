import { PinoLogger } from 'nestjs-pino';
import { Store, storage } from 'nestjs-pino/storage';

/**
 * Runs queue work inside a log context, as a request runs inside pino-http's: every log line
 * written meanwhile (through Nest's Logger) carries these bindings, e.g. the originating requestId.
 */
export function withLogContext<T>(bindings: Record<string, unknown>, work: () => Promise<T>): Promise<T> {
  const root = PinoLogger.root as PinoLogger['logger'] | undefined;
  if (!root) return work(); // logger not initialised (unit tests)
  return storage.run(new Store(root.child(bindings)), work);
}
