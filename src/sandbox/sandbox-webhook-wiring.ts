import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';

import type { ConnectionsService } from '../connections/connections.service';
import { SandboxControl } from './sandbox-control.client';

type Credentials = Record<string, string>;

// How each sandbox provider subscribes one connection's webhooks through its control API.
const SUBSCRIBE: Record<string, (control: SandboxControl, credentials: Credentials, url: string) => Promise<unknown>> =
  {
    servicetitan: (control, credentials, url) => control.setServiceTitanWebhook(credentials.tenantId, url),
    housecallpro: (control, credentials, url) => control.setHousecallProWebhook(credentials.apiKey, url),
  };
const CHECK_EVERY_MS = 3000;

/**
 * Development only (`npm start` with the embedded sandbox): the sandbox sends its provider webhooks to this service,
 * so completions arrive within seconds without a poll sweep. Jobber's webhook URL is app-level and set once;
 * Housecall Pro and ServiceTitan subscribe per connection, so each active connection is subscribed to its own
 * `webhookUrl` once it exists (checked every few seconds; the sandbox forgets everything when it restarts).
 */
export class SandboxWebhookWiring {
  private readonly logger = new Logger(SandboxWebhookWiring.name);
  private readonly subscribed = new Set<string>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly control: SandboxControl,
    private readonly connections: ConnectionsService,
    private readonly db: DataSource,
    private readonly publicBaseUrl: string,
  ) {}

  async start(): Promise<void> {
    await this.control.setJobberWebhook(`${this.publicBaseUrl}/api/webhooks/jobber`);
    await this.subscribeNew();
    this.timer = setInterval(() => void this.subscribeNew(), CHECK_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async subscribeNew(): Promise<void> {
    try {
      const rows: { id: string; provider_type: string }[] = await this.db.query(
        `SELECT id, provider_type FROM connections WHERE status = 'active' AND provider_type = ANY($1::text[])`,
        [Object.keys(SUBSCRIBE)],
      );
      for (const row of rows.filter((r) => !this.subscribed.has(r.id))) {
        const url = await this.connections.webhookUrlOf(row.id);
        const credentials = (await this.connections.credentialsOf(row.id)) as Credentials;
        await SUBSCRIBE[row.provider_type](this.control, credentials, url);
        this.subscribed.add(row.id);
        this.logger.log(
          { connectionId: row.id, provider: row.provider_type },
          'Sandbox webhooks point at this service',
        );
      }
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'Sandbox webhook wiring failed; will try again');
    }
  }
}
