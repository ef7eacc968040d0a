import { Processor, WorkerHost } from '@nestjs/bullmq';

import { Job } from 'bullmq';

import { withLogContext } from '../logging/log-context';
import { QUEUE } from '../queue/queues';
import { CleanupService } from './cleanup.service';

@Processor(QUEUE.cleanup)
export class CleanupProcessor extends WorkerHost {
  constructor(private readonly cleanup: CleanupService) {
    super();
  }

  process(job: Job<{ sweepId: string }>) {
    return withLogContext({ sweepId: job.data.sweepId, queue: job.queueName, queueJobId: job.id }, () =>
      this.cleanup.run(),
    );
  }
}
