import { FaultInjector, RateLimiter } from './faults';
import type { RequestContext, RouteDef } from './http';
import { AutoLifecycle } from './lifecycle';
import type { SandboxOptionsUpdate, SandboxProvider, SandboxRuntimeOptions } from './sandbox.types';
import { StatsRecorder } from './stats';
import { HousecallProStore, ServiceTitanStore } from './store';

export const DEFAULT_COMPLETE_AFTER_MS = 60_000;

/** Everything the sandbox keeps in memory; reset() brings it back to how it started. */
export class SandboxState {
  options: SandboxRuntimeOptions;
  st = new ServiceTitanStore();
  hcp = new HousecallProStore();
  readonly faults = new FaultInjector();
  readonly limits = new RateLimiter();
  readonly stats = new StatsRecorder();
  readonly lifecycle: AutoLifecycle;

  constructor(private readonly defaults: SandboxRuntimeOptions) {
    this.options = { ...defaults };
    this.lifecycle = new AutoLifecycle(
      () => this.options,
      () => this.st,
      () => this.hcp,
    );
  }

  reset(): void {
    this.lifecycle.clear();
    this.options = { ...this.defaults };
    this.st = new ServiceTitanStore();
    this.hcp = new HousecallProStore();
    this.faults.clear();
    this.limits.clear();
    this.stats.reset();
  }
}

/** What a provider module gives the server: its routes plus how it authenticates and words errors. */
export interface ProviderApi {
  provider: SandboxProvider;
  routes: RouteDef[];
  /** Sets ctx.account, or answers 401 itself and returns false. */
  authenticate(ctx: RequestContext): boolean;
  sendError(ctx: RequestContext, status: number, message: string, headers?: Record<string, string | number>): void;
}

/** Applies an options update; returns an error message when it is invalid. */
export function applyOptionsUpdate(current: SandboxRuntimeOptions, update: unknown): SandboxRuntimeOptions | string {
  if (typeof update !== 'object' || update === null || Array.isArray(update)) return 'options must be a JSON object';
  const u = update as SandboxOptionsUpdate;
  const next = { ...current };
  if (u.autoRegister !== undefined) {
    if (typeof u.autoRegister !== 'boolean') return 'autoRegister must be a boolean';
    next.autoRegister = u.autoRegister;
  }
  if (u.tokenTtlSeconds !== undefined) {
    if (typeof u.tokenTtlSeconds !== 'number' || !(u.tokenTtlSeconds > 0))
      return 'tokenTtlSeconds must be a positive number';
    next.tokenTtlSeconds = u.tokenTtlSeconds;
  }
  if (u.autoLifecycle !== undefined) {
    if (u.autoLifecycle === false) next.autoLifecycle = false;
    else if (u.autoLifecycle === true) next.autoLifecycle = { completeAfterMs: DEFAULT_COMPLETE_AFTER_MS };
    else if (typeof u.autoLifecycle === 'object' && u.autoLifecycle !== null) {
      const ms = u.autoLifecycle.completeAfterMs ?? DEFAULT_COMPLETE_AFTER_MS;
      if (typeof ms !== 'number' || !(ms > 0)) return 'autoLifecycle.completeAfterMs must be a positive number';
      next.autoLifecycle = { completeAfterMs: ms };
    } else return 'autoLifecycle must be false, true or { completeAfterMs }';
  }
  return next;
}
