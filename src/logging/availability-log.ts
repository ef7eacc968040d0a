import { Logger } from '@nestjs/common';

/**
 * Logs a dependency going away and coming back: one line per change, however many calls fail
 * meanwhile (an outage retried every few milliseconds must not flood the log).
 */
export class AvailabilityLog {
  private available = true;

  constructor(
    private readonly logger: Logger,
    private readonly fields: Record<string, unknown>,
    private readonly messages: { down: string; up: string },
  ) {}

  get isAvailable(): boolean {
    return this.available;
  }

  down(error: unknown): void {
    if (!this.available) return;
    this.available = false;
    this.logger.warn(
      { ...this.fields, err: error instanceof Error ? error.message : String(error) },
      this.messages.down,
    );
  }

  up(): void {
    if (this.available) return;
    this.available = true;
    this.logger.log(this.fields, this.messages.up);
  }
}
