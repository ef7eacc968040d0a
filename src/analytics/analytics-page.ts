import { dirname, join } from 'node:path';

import { INestApplication, Logger } from '@nestjs/common';
import { NextFunction, Request, Response, Router } from 'express';

import { adminOnly } from '../admin/admin-auth';
import { ApiKeysService } from '../auth/api-keys.service';
import { Caller } from '../auth/caller';
import { DomainError } from '../common/errors';
import { validationPipe } from '../common/validation';
import { AnalyticsService } from './analytics.service';
import { FunnelQuery } from './dto/analytics.query';

export const ANALYTICS_PAGE_PATH = '/admin/analytics';

// The page and its script ship beside this file (copied into dist/ by the build); Chart.js is served from
// node_modules, so the page needs nothing from the internet.
const PAGE_DIR = join(__dirname, 'page');
const CHART_JS = join(dirname(require.resolve('chart.js')), 'chart.umd.min.js');
const ASSETS: Record<string, string> = {
  'chart.umd.min.js': CHART_JS,
  'analytics.js': join(PAGE_DIR, 'analytics.js'),
  'analytics.css': join(PAGE_DIR, 'analytics.css'),
};
// The page acts for whoever opened it with the admin key: the whole network.
const PAGE_CALLER: Caller = { apiKeyId: 'analytics-page', role: 'admin', companyId: null };

/**
 * `/admin/analytics`: one static page drawing the funnel, revenue by month and the top partners by conversion,
 * for admins (Bearer admin key, or basic auth with the admin key as password, as Bull Board). Its data comes from
 * `/admin/analytics/data/funnel`, the funnel endpoint behind the same admin check, because a browser that logged in
 * with basic auth sends those credentials only below this path.
 */
export function mountAnalyticsPage(app: INestApplication): void {
  const analytics = app.get(AnalyticsService);
  const logger = new Logger('AnalyticsPage');
  const router = Router();
  router.get(['/', '/index.html'], (_req, res) => sendFile(res, join(PAGE_DIR, 'index.html')));
  router.get('/assets/:name', (req, res, next) => {
    const file = ASSETS[String(req.params.name)];
    if (!file) return next();
    sendFile(res, file);
  });
  router.get('/data/funnel', async (req: Request, res: Response) => {
    try {
      const query = (await validationPipe.transform(req.query, {
        type: 'query',
        metatype: FunnelQuery,
        data: '',
      })) as FunnelQuery;
      res.json(await analytics.funnel(PAGE_CALLER, query));
    } catch (error) {
      sendProblem(req, res, error, logger);
    }
  });
  router.use((req: Request, res: Response, _next: NextFunction) =>
    sendProblem(req, res, new DomainError(404, 'Not Found', `${req.originalUrl} is not part of the analytics page`)),
  );
  app.use(
    ANALYTICS_PAGE_PATH,
    adminOnly(app.get(ApiKeysService), { realm: 'TradeEngage analytics', name: 'analytics page' }),
    router,
  );
}

function sendFile(res: Response, path: string): void {
  res.setHeader('Cache-Control', 'no-cache');
  res.sendFile(path);
}

function sendProblem(req: Request, res: Response, error: unknown, logger?: Logger): void {
  const known = error instanceof DomainError;
  if (!known) logger?.error({ err: error }, 'Analytics page data failed');
  const status = known ? error.status : 500;
  res
    .status(status)
    .type('application/problem+json')
    .send(
      JSON.stringify({
        type: known
          ? `https://tradeengage.dev/problems/${error.title.toLowerCase().replace(/ /g, '-')}`
          : 'about:blank',
        title: known ? error.title : 'Internal Server Error',
        status,
        detail: known ? error.message : 'An unexpected error occurred',
        requestId: (req as Request & { id?: string }).id,
        ...(known && error.errors?.length ? { errors: error.errors } : {}),
      }),
    );
}
