import type { ActiveFaults, FaultConfig, LimitConfig } from './sandbox.types';

type Rng = () => number;

/** mulberry32: small seedable PRNG so a fault run can be replayed. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Validates a fault config from the control API; returns an error message or the resolved config. */
export function resolveFaults(input: unknown): ActiveFaults | string {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return 'body must be a JSON object';
  const c = input as FaultConfig;
  const rate = (name: keyof FaultConfig): number | string => {
    const v = c[name] ?? 0;
    return typeof v === 'number' && v >= 0 && v <= 1 ? v : `${name} must be a number between 0 and 1`;
  };
  const errorRate = rate('errorRate');
  const rateLimitRate = rate('rateLimitRate');
  const timeoutAfterCreateRate = rate('timeoutAfterCreateRate');
  for (const v of [errorRate, rateLimitRate, timeoutAfterCreateRate]) if (typeof v === 'string') return v;

  const errorStatus = c.errorStatus ?? 503;
  if (!Number.isInteger(errorStatus) || errorStatus < 400 || errorStatus > 599) {
    return 'errorStatus must be an integer HTTP status between 400 and 599';
  }
  const retryAfterSeconds = c.retryAfterSeconds ?? 1;
  if (!Number.isInteger(retryAfterSeconds) || retryAfterSeconds < 1) return 'retryAfterSeconds must be an integer >= 1';
  const errorRetryAfterSeconds = c.errorRetryAfterSeconds ?? null;
  if (errorRetryAfterSeconds !== null && !(Number.isInteger(errorRetryAfterSeconds) && errorRetryAfterSeconds >= 1)) {
    return 'errorRetryAfterSeconds must be an integer >= 1';
  }

  let latency = { min: 0, max: 0 };
  if (typeof c.latencyMs === 'number') latency = { min: c.latencyMs, max: c.latencyMs };
  else if (typeof c.latencyMs === 'object' && c.latencyMs !== null)
    latency = { min: c.latencyMs.min, max: c.latencyMs.max };
  else if (c.latencyMs !== undefined) return 'latencyMs must be a number or {min,max}';
  if (!(latency.min >= 0 && latency.max >= latency.min)) return 'latencyMs must satisfy 0 <= min <= max';

  if (c.seed !== undefined && !Number.isInteger(c.seed)) return 'seed must be an integer';
  return {
    errorRate: errorRate as number,
    errorStatus,
    errorRetryAfterSeconds,
    rateLimitRate: rateLimitRate as number,
    retryAfterSeconds,
    latencyMs: latency,
    timeoutAfterCreateRate: timeoutAfterCreateRate as number,
    seed: c.seed ?? null,
  };
}

export type InjectedFault =
  | { kind: 'rate_limit'; retryAfterSeconds: number }
  | { kind: 'error'; status: number; retryAfterSeconds: number | null };

export class FaultInjector {
  private readonly faults = new Map<string, { config: ActiveFaults; rng: Rng }>();

  set(provider: string, config: ActiveFaults): void {
    this.faults.set(provider, { config, rng: config.seed === null ? Math.random : seededRng(config.seed) });
  }

  clear(provider?: string): void {
    if (provider) this.faults.delete(provider);
    else this.faults.clear();
  }

  get(provider: string): ActiveFaults | null {
    return this.faults.get(provider)?.config ?? null;
  }

  latencyMs(provider: string): number {
    const f = this.faults.get(provider);
    if (!f) return 0;
    const { min, max } = f.config.latencyMs;
    return min === max ? min : min + f.rng() * (max - min);
  }

  /** Rolled once per API call, after auth and the real per-account limits. */
  roll(provider: string): InjectedFault | null {
    const f = this.faults.get(provider);
    if (!f) return null;
    if (f.config.rateLimitRate > 0 && f.rng() < f.config.rateLimitRate) {
      return { kind: 'rate_limit', retryAfterSeconds: f.config.retryAfterSeconds };
    }
    if (f.config.errorRate > 0 && f.rng() < f.config.errorRate) {
      return { kind: 'error', status: f.config.errorStatus, retryAfterSeconds: f.config.errorRetryAfterSeconds };
    }
    return null;
  }

  shouldTimeoutAfterCreate(provider: string): boolean {
    const f = this.faults.get(provider);
    return !!f && f.config.timeoutAfterCreateRate > 0 && f.rng() < f.config.timeoutAfterCreateRate;
  }
}

export function resolveLimits(input: unknown): LimitConfig | string {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return 'body must be a JSON object';
  const c = input as LimitConfig;
  for (const key of ['perSecond', 'perMinute'] as const) {
    const v = c[key];
    if (v !== undefined && v !== null && !(Number.isInteger(v) && v > 0)) return `${key} must be a positive integer`;
  }
  const w = c.window;
  if (w !== undefined && w !== null) {
    const valid =
      typeof w === 'object' &&
      Number.isInteger(w.requests) &&
      w.requests > 0 &&
      Number.isInteger(w.seconds) &&
      w.seconds > 0;
    if (!valid) return 'window must be { requests, seconds } with positive integers';
  }
  if (!c.perSecond && !c.perMinute && !w) return 'give perSecond, perMinute and/or window';
  return {
    ...(c.perSecond ? { perSecond: c.perSecond } : {}),
    ...(c.perMinute ? { perMinute: c.perMinute } : {}),
    ...(w ? { window: { requests: w.requests, seconds: w.seconds } } : {}),
  };
}

/** Sliding-window log per account; only admitted requests enter the window. */
export class RateLimiter {
  private readonly limits = new Map<string, LimitConfig>();
  private readonly windows = new Map<string, number[]>();

  set(provider: string, limits: LimitConfig): void {
    this.limits.set(provider, limits);
    this.clearWindows(provider);
  }

  clear(provider?: string): void {
    if (provider) {
      this.limits.delete(provider);
      this.clearWindows(provider);
    } else {
      this.limits.clear();
      this.windows.clear();
    }
  }

  get(provider: string): LimitConfig | null {
    return this.limits.get(provider) ?? null;
  }

  /** Returns null when admitted, else the milliseconds until a slot frees up. */
  check(provider: string, account: string, now = Date.now()): number | null {
    const limits = this.limits.get(provider);
    if (!limits) return null;
    const windows: [number | undefined, number][] = [
      [limits.perSecond, 1000],
      [limits.perMinute, 60_000],
      [limits.window?.requests, (limits.window?.seconds ?? 0) * 1000],
    ];
    const longest = Math.max(...windows.map(([max, span]) => (max ? span : 0)));
    const key = `${provider}\u0000${account}`;
    const log = (this.windows.get(key) ?? []).filter((t) => t > now - longest);
    let waitMs = 0;
    for (const [max, span] of windows) {
      if (!max) continue;
      const inWindow = log.filter((t) => t > now - span);
      if (inWindow.length >= max) waitMs = Math.max(waitMs, inWindow[inWindow.length - max] + span - now);
    }
    if (waitMs > 0) {
      this.windows.set(key, log);
      return waitMs;
    }
    log.push(now);
    this.windows.set(key, log);
    return null;
  }

  private clearWindows(provider: string): void {
    for (const key of this.windows.keys()) if (key.startsWith(`${provider}\u0000`)) this.windows.delete(key);
  }
}
