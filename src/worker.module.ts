import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';

/** Queue processors and cron triggers: registered only when the process runs the worker (`worker` or `all`). */
@Module({
  imports: [ScheduleModule.forRoot()],
})
export class WorkerModule {}
