import { Module } from '@nestjs/common';

import { AuditService } from './audit.service';

/** The audit trail's reader and retention; writers call recordAuditEvent (audit.ts) in their own transaction. */
@Module({
  providers: [AuditService],
  exports: [AuditService],
})
export class AuditModule {}
