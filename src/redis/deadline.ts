import { ServiceUnavailableError } from '../common/errors';

/**
 * How long an HTTP request waits for Redis before answering without it. SPEC section 12 gives the
 * endpoints 3 s while Redis is down; this leaves a second for the rest of the request.
 */
export const REDIS_DEADLINE_MS = 2000;

/** Settles like `work`, or rejects with a 503 error once `ms` have passed. */
export function withDeadline<T>(work: Promise<T>, ms: number, what = 'Redis'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ServiceUnavailableError(`${what} did not answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
