import { Processor, WorkerHost } from '@nestjs/bullmq';
import { OnModuleInit } from '@nestjs/common';
import { Job } from 'bullmq';

import { AppConfig } from '../config/app-config';
import { withLogContext } from '../logging/log-context';
import { DeliverWebhookData, QUEUE } from '../queue/queues';
import { DeliveryOutcome, WebhookDispatcher } from './webhook-dispatcher';

/** One attempt of one outbound webhook delivery per job. */
@Processor(QUEUE.webhooks)
export class WebhookDeliveryProcessor extends WorkerHost implements OnModuleInit {
  constructor(
    private readonly dispatcher: WebhookDispatcher,
    private readonly config: AppConfig,
  ) {
    super();
  }

  onModuleInit(): void {
    this.worker.concurrency = this.config.webhooks.concurrency;
  }

  process(job: Job<DeliverWebhookData>): Promise<DeliveryOutcome> {
    const { deliveryId, attempt } = job.data;
    return withLogContext({ queue: job.queueName, deliveryId }, () => this.dispatcher.deliver(deliveryId, attempt));
  }
}
