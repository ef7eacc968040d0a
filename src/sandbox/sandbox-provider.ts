import type { RequestContext, RouteDef } from './http';
import type { AutoMove, AutoPlanOptions } from './lifecycle';
import type { LimitConfig, SandboxRuntimeOptions } from './sandbox.types';
import type { OutgoingWebhook } from './webhooks';

/**
 * What the shared plumbing gives one provider's sandbox: the runtime options, its own fault dice, the
 * auto-lifecycle scheduler, the webhook sender. A provider never reaches another provider's state.
 */
export interface SandboxEnv {
  options(): SandboxRuntimeOptions;
  /** Rolls this provider's timeout-after-create fault: true means store the record, then never answer. */
  shouldTimeoutAfterCreate(): boolean;
  /** Plans the auto-lifecycle moves of a record just created (a no-op while auto-lifecycle is off). */
  planLifecycle(move: AutoMove, options?: AutoPlanOptions): void;
  /** Sends one of this provider's webhooks, fire-and-forget; the delivery is logged. */
  sendWebhook(webhook: OutgoingWebhook): void;
}

/** One provider's sandbox as the server runs it; made anew by `create` on every reset. */
export interface SandboxProviderInstance<Records = unknown> {
  /** The provider's real API. */
  routes: RouteDef[];
  /**
   * Authenticates a non-public route: sets ctx.account and ctx.credential, or answers 401 in the
   * provider's wording itself and returns false.
   */
  authenticate(ctx: RequestContext): boolean;
  /** Answers an error (404, 405, 429, injected faults, 500) in the provider's wording. */
  sendError(ctx: RequestContext, status: number, message: string, headers?: Record<string, string | number>): void;
  /** Control routes, mounted under /_sandbox/<name> (paths here start with "/"). */
  controlRoutes: RouteDef[];
  /** Everything the provider holds, for GET /_sandbox/records. */
  records(): Records;
  /** Stops timers of its own (none by default); called on reset and close. */
  close?(): void;
}

/**
 * A sandbox provider: one folder exporting one of these, registered by one line in providers.ts.
 * The shared plumbing (router, faults, limits, stats, control API, server) knows nothing else about it.
 */
export interface SandboxProviderDefinition<Name extends string = string, Records = unknown> {
  /** Provider name in control paths (/_sandbox/<name>/…, /_sandbox/faults/<name>) and stats. */
  name: Name;
  /** Whether a request path belongs to this provider's real API. Paths of two providers never overlap. */
  ownsPath(pathname: string): boolean;
  /** Per-account limits in force after start and reset (e.g. Jobber's 2500 requests per 300 s). */
  defaultLimits?: LimitConfig;
  create(env: SandboxEnv): SandboxProviderInstance<Records>;
}

/** Keeps the literal name so providers.ts can derive the provider names and record types. */
export function defineSandboxProvider<const Name extends string, Records>(
  definition: SandboxProviderDefinition<Name, Records>,
): SandboxProviderDefinition<Name, Records> {
  return definition;
}
