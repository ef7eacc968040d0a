import { Injectable } from '@nestjs/common';

import { AppConfig } from '../config/app-config';

/**
 * At most SYNC_CONCURRENCY sync attempts at once in this process, whether they came from the sync queue or the
 * retry queue (each queue's worker would otherwise run that many on its own).
 */
@Injectable()
export class SyncSlots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(config: AppConfig) {
    this.free = config.concurrency.sync;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      // Hand the slot straight to the next waiter, or give it back.
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}
