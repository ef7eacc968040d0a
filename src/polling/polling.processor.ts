import { Processor, WorkerHost } from '@nestjs/bullmq';
import { OnModuleInit } from '@nestjs/common';
import { Job } from 'bullmq';

import { AppConfig } from '../config/app-config';
import { withLogContext } from '../logging/log-context';
import { PollConnectionData, QUEUE } from '../queue/queues';
import { PollingService } from './polling.service';

@Processor(QUEUE.poll)
export class PollingProcessor extends WorkerHost implements OnModuleInit {
  constructor(
    private readonly polling: PollingService,
    private readonly config: AppConfig,
  ) {
    super();
  }

  onModuleInit(): void {
    this.worker.concurrency = this.config.concurrency.poll;
  }

  process(job: Job<PollConnectionData>) {
    return withLogContext(
      { sweepId: job.data.sweepId, queue: job.queueName, queueJobId: job.id, connectionId: job.data.connectionId },
      () => this.polling.pollConnection(job.data.connectionId, job.data.sweepId),
    );
  }
}
