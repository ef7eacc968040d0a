import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';

import { withLogContext } from '../logging/log-context';
import { QUEUE, RunSweepData } from '../queue/queues';
import { SweepsService } from './sweeps.service';

@Processor(QUEUE.default)
export class SweepsProcessor extends WorkerHost {
  constructor(private readonly sweeps: SweepsService) {
    super();
  }

  process(job: Job<RunSweepData>): Promise<number> {
    // A sweep logs under its own id, plus the request id when an admin triggered it.
    return withLogContext(
      {
        sweep: job.data.name,
        sweepId: job.data.sweepId,
        requestId: job.data.requestId,
        queue: job.queueName,
        queueJobId: job.id,
      },
      () => this.sweeps.run(job.data),
    );
  }
}
