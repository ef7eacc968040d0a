import { Module } from '@nestjs/common';

import { SyncProducer } from './sync.producer';

@Module({
  providers: [SyncProducer],
  exports: [SyncProducer],
})
export class SyncModule {}
