import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';

import { QUEUE, RunSweepData } from '../queue/queues';
import { SweepsService } from './sweeps.service';

@Processor(QUEUE.default)
export class SweepsProcessor extends WorkerHost {
  constructor(private readonly sweeps: SweepsService) {
    super();
  }

  process(job: Job<RunSweepData>): Promise<number> {
    return this.sweeps.run(job.data);
  }
}
