import { Processor, WorkerHost } from '@nestjs/bullmq';

import { QUEUE } from '../queue/queues';
import { CleanupService } from './cleanup.service';

@Processor(QUEUE.cleanup)
export class CleanupProcessor extends WorkerHost {
  constructor(private readonly cleanup: CleanupService) {
    super();
  }

  process() {
    return this.cleanup.run();
  }
}
