import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { getQueueToken } from '@nestjs/bullmq';
import { INestApplication } from '@nestjs/common';
import { Queue } from 'bullmq';
import { NextFunction, Request, Response } from 'express';
import { DataSource } from 'typeorm';

import { actorOf } from '../audit/actor';
import { asDashboardActor, queueDashboardAuditHooks } from '../audit/queue-dashboard-audit';
import { ApiKeysService } from '../auth/api-keys.service';
import { requestIdOf } from '../logging/logging.module';
import { QUEUE_NAMES } from '../queue/queues';

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
    options: { handlerHooks: queueDashboardAuditHooks(app.get(DataSource)) },
  });
  const apiKeys = app.get(ApiKeysService);
  app.use(BULL_BOARD_PATH, adminOnly(apiKeys), serverAdapter.getRouter());
}

function adminOnly(apiKeys: ApiKeysService) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const key = presentedKey(req.headers.authorization);
    const caller = key ? await apiKeys.authenticate(key).catch(() => null) : null;
    if (caller?.role === 'admin') {
      // Mounted ahead of Nest's middleware, the dashboard gets no request id from pino-http: it takes one here.
      const requestId = (req as Request & { id?: string }).id ?? requestIdOf(req, res);
      return asDashboardActor(actorOf(caller, requestId), next);
    }
    res
      .status(caller ? 403 : 401)
      .setHeader('WWW-Authenticate', 'Basic realm="TradeEngage queues", charset="UTF-8"')
      .type('application/problem+json')
      .send(
        JSON.stringify({
          type: 'https://tradeengage.dev/problems/' + (caller ? 'forbidden' : 'unauthorized'),
          title: caller ? 'Forbidden' : 'Unauthorized',
          status: caller ? 403 : 401,
          detail: caller
            ? 'The queue dashboard needs an admin key'
            : 'Use the admin key as Bearer token or basic auth password',
          requestId: (req as Request & { id?: string }).id,
        }),
      );
  };
}

function presentedKey(authorization: string | undefined): string | null {
  if (!authorization) return null;
  const [scheme, value] = authorization.split(' ', 2);
  if (/^bearer$/i.test(scheme)) return value?.trim() || null;
  if (/^basic$/i.test(scheme) && value) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const password = decoded.slice(decoded.indexOf(':') + 1);
    return password || null;
  }
  return null;
}
