import { FaultInjector, RateLimiter } from './faults';
import { AutoLifecycle } from './lifecycle';
import type { SandboxProviderDefinition, SandboxProviderInstance } from './sandbox-provider';
import type { SandboxOptionsUpdate, SandboxRuntimeOptions } from './sandbox.types';
import { StatsRecorder } from './stats';
import { WebhookSender } from './webhooks';

export const DEFAULT_COMPLETE_AFTER_MS = 60_000;

/** A registered provider and its live instance. */
export interface LiveProvider {
  definition: SandboxProviderDefinition;
  instance: SandboxProviderInstance;
}

/** Everything the sandbox keeps in memory; reset() brings it back to how it started. */
export class SandboxState {
  options: SandboxRuntimeOptions;
  readonly faults = new FaultInjector();
  readonly limits = new RateLimiter();
  readonly stats: StatsRecorder;
  readonly lifecycle: AutoLifecycle;
  readonly webhooks = new WebhookSender();
  /** By provider name, in registration order; the instances are replaced on reset. */
  readonly providers = new Map<string, LiveProvider>();

  constructor(
    private readonly definitions: readonly SandboxProviderDefinition[],
    private readonly defaults: SandboxRuntimeOptions,
  ) {
    const names = definitions.map((d) => d.name);
    if (new Set(names).size !== names.length)
      throw new Error(`sandbox providers registered twice: ${names.join(', ')}`);
    this.options = { ...defaults };
    this.stats = new StatsRecorder(names);
    this.lifecycle = new AutoLifecycle(() => this.options);
    this.createProviders();
  }

  reset(): void {
    this.close();
    this.options = { ...this.defaults };
    this.faults.clear();
    this.limits.clear();
    this.stats.reset();
    this.webhooks.reset();
    this.createProviders();
  }

  /** Stops every timer (auto-lifecycle and the providers' own). */
  close(): void {
    this.lifecycle.clear();
    for (const { instance } of this.providers.values()) instance.close?.();
  }

  private createProviders(): void {
    for (const definition of this.definitions) {
      const name = definition.name;
      if (definition.defaultLimits) this.limits.set(name, definition.defaultLimits);
      const instance = definition.create({
        options: () => this.options,
        shouldTimeoutAfterCreate: () => this.faults.shouldTimeoutAfterCreate(name),
        planLifecycle: (move, options) => this.lifecycle.plan(move, options),
        sendWebhook: (webhook) => this.webhooks.send(name, webhook),
      });
      this.providers.set(name, { definition, instance });
    }
  }
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
