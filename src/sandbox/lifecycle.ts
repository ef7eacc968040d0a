import type { SandboxRuntimeOptions } from './sandbox.types';

/** A control-API move that the record's state does not allow (404 unknown record, 409 wrong state). */
export class LifecycleError extends Error {
  constructor(
    readonly status: 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

/** The moves the auto-lifecycle makes; each provider maps them onto its own actions. */
export type AutoStep = 'schedule' | 'start' | 'complete' | 'cancel';
export type AutoMove = (step: AutoStep, totalCents?: number) => unknown;

export interface AutoPlanOptions {
  /** Cancel before scheduling (Jobber: a request archived without a job) instead of starting it. */
  cancelFirst?: boolean;
}

const CANCEL_SHARE = 0.1;

/** Moves each new record through its life in three even steps over completeAfterMs. */
export class AutoLifecycle {
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly options: () => SandboxRuntimeOptions) {}

  /** Plans the moves of a record just created; a no-op while auto-lifecycle is off. */
  plan(move: AutoMove, options: AutoPlanOptions = {}): void {
    const setting = this.options().autoLifecycle;
    if (!setting) return;
    const third = setting.completeAfterMs / 3;
    const canceled = Math.random() < CANCEL_SHARE;
    // 150.00 to 2500.00 USD.
    const totalCents = 15_000 + Math.floor(Math.random() * 235_001);
    if (canceled && options.cancelFirst) {
      this.at(third, () => move('cancel'));
      return;
    }
    this.at(third, () => move('schedule'));
    this.at(2 * third, () => move(canceled ? 'cancel' : 'start'));
    if (!canceled) this.at(3 * third, () => move('complete', totalCents));
  }

  clear(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private at(ms: number, fn: () => unknown): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      try {
        fn();
      } catch {
        // Someone moved the record by hand in the meantime; its own state wins.
      }
    }, ms);
    this.timers.add(timer);
  }
}
