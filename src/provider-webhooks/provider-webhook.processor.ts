import { Processor, WorkerHost } from '@nestjs/bullmq';
import { OnModuleInit } from '@nestjs/common';
import { Job } from 'bullmq';

import { AppConfig } from '../config/app-config';
import { withLogContext } from '../logging/log-context';
import { ProviderWebhookData, QUEUE } from '../queue/queues';
import { ProviderWebhooksService } from './provider-webhooks.service';

/**
 * The work inbound provider webhooks leave: status reads of the routings they name. A queue of its own, so a
 * webhook's read never waits behind a poll sweep working through a large account.
 */
@Processor(QUEUE.providerWebhooks)
export class ProviderWebhookProcessor extends WorkerHost implements OnModuleInit {
  constructor(
    private readonly webhooks: ProviderWebhooksService,
    private readonly config: AppConfig,
  ) {
    super();
  }

  onModuleInit(): void {
    this.worker.concurrency = this.config.concurrency.providerWebhooks;
  }

  process(job: Job<ProviderWebhookData>): Promise<number> {
    const { requestId, provider, topic } = job.data;
    return withLogContext({ requestId, queue: job.queueName, provider, topic }, () => this.webhooks.handle(job.data));
  }
}
