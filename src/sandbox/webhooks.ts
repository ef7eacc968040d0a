import type { WebhookDelivery, WebhookOptions } from './sandbox.types';

export const DEFAULT_WEBHOOK_OPTIONS: WebhookOptions = { duplicates: false, timeoutMs: 2000 };

const LOG_SIZE = 1000;

/** One webhook as a provider builds it: the raw body is what its signature covers. */
export interface OutgoingWebhook {
  url: string;
  /** The provider's event name (Jobber topic, Housecall Pro event, ServiceTitan eventType). */
  event: string;
  body: string;
  headers?: Record<string, string>;
}

/**
 * Sends provider webhooks fire-and-forget with a short timeout, as providers do (at least once: with
 * `duplicates` every event goes out twice), and keeps a log of each delivery and its answer.
 */
export class WebhookSender {
  options: WebhookOptions = { ...DEFAULT_WEBHOOK_OPTIONS };
  private log: WebhookDelivery[] = [];
  private seq = 0;
  private readonly inFlight = new Set<AbortController>();

  send(provider: string, webhook: OutgoingWebhook): void {
    const attempts = this.options.duplicates ? 2 : 1;
    for (let attempt = 1; attempt <= attempts; attempt++) void this.deliver(provider, webhook, attempt);
  }

  deliveries(provider: string | null, limit: number): WebhookDelivery[] {
    const matching = provider ? this.log.filter((d) => d.provider === provider) : this.log;
    return matching.slice(-limit).map((d) => ({ ...d }));
  }

  clearLog(): void {
    this.log = [];
  }

  reset(): void {
    this.options = { ...DEFAULT_WEBHOOK_OPTIONS };
    this.clearLog();
  }

  /** Abandons deliveries still waiting for an answer (server close). */
  abort(): void {
    for (const controller of this.inFlight) controller.abort();
  }

  private async deliver(provider: string, webhook: OutgoingWebhook, attempt: number): Promise<void> {
    const startedAt = Date.now();
    const entry: WebhookDelivery = {
      seq: ++this.seq,
      provider,
      event: webhook.event,
      url: webhook.url,
      attempt,
      at: new Date(startedAt).toISOString(),
      status: 'pending',
      error: null,
      durationMs: null,
    };
    this.log.push(entry);
    if (this.log.length > LOG_SIZE) this.log.splice(0, this.log.length - LOG_SIZE);
    const controller = new AbortController();
    this.inFlight.add(controller);
    const timer = setTimeout(
      () => controller.abort(new Error(`no answer within ${this.options.timeoutMs} ms`)),
      this.options.timeoutMs,
    );
    try {
      const res = await fetch(webhook.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': `sandbox-${provider}-webhooks`,
          ...webhook.headers,
        },
        body: webhook.body,
        redirect: 'manual',
        signal: controller.signal,
      });
      // Only the status matters; the body is drained so the connection can be reused.
      await res.arrayBuffer().catch(() => undefined);
      entry.status = res.status;
    } catch (e) {
      entry.status = 'error';
      const reason = (controller.signal.aborted ? controller.signal.reason : e) as {
        message?: string;
        cause?: { code?: string; message?: string };
      };
      const cause = reason.cause?.code ?? reason.cause?.message;
      entry.error = `${reason.message ?? String(reason)}${cause ? ` (${cause})` : ''}`;
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(controller);
      entry.durationMs = Date.now() - startedAt;
    }
  }
}
