import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { getQueueToken } from '@nestjs/bullmq';
import { INestApplication } from '@nestjs/common';
import { Queue } from 'bullmq';

import { ApiKeysService } from '../auth/api-keys.service';
import { QUEUE_NAMES } from '../queue/queues';
import { adminOnly } from './admin-auth';

export const BULL_BOARD_PATH = '/admin/queues';

/**
 * Bull Board at /admin/queues for admins: `Authorization: Bearer <admin key>`, or HTTP basic auth
 * with the admin key as the password (so a browser can open it).
 */
export function mountBullBoard(app: INestApplication): void {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: QUEUE_NAMES.map((name) => new BullMQAdapter(app.get<Queue>(getQueueToken(name)))),
    serverAdapter,
  });
  const apiKeys = app.get(ApiKeysService);
  app.use(
    BULL_BOARD_PATH,
    adminOnly(apiKeys, { realm: 'TradeEngage queues', name: 'queue dashboard' }),
    serverAdapter.getRouter(),
  );
}
