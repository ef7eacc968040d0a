import { dirname, join } from 'node:path';

import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { NextFunction, Request, Response } from 'express';

import { BasicAuth, Caller, CurrentCaller, Roles } from '../auth/caller';
import { NotFoundError } from '../common/errors';
import { AnalyticsService } from './analytics.service';
import { FunnelQuery } from './dto/analytics.query';

export const ANALYTICS_PAGE_PATH = '/admin/analytics';
// Where Nest routes the page (under the global `/api` prefix); requests to ANALYTICS_PAGE_PATH are sent here.
const ROUTE = 'admin/analytics-page';
const ROUTED_PATH = `/api/${ROUTE}`;

// The page and its script ship beside this file (copied into dist/ by the build); Chart.js is served from
// node_modules, so the page needs nothing from the internet.
const PAGE_DIR = join(__dirname, 'page');
const ASSETS: Record<string, string> = {
  'chart.umd.min.js': join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'),
  'analytics.js': join(PAGE_DIR, 'analytics.js'),
  'analytics.css': join(PAGE_DIR, 'analytics.css'),
};

/**
 * `/admin/analytics`: one static page drawing the funnel, revenue by month and the top partners by conversion,
 * behind the same pipeline as the API and Bull Board (admin key as Bearer, or basic auth with the key as password).
 * Its data comes from `/admin/analytics/data/funnel`, the funnel of the API under this path, because a browser that
 * logged in with basic auth sends those credentials only below it.
 */
@ApiExcludeController()
@Roles('admin')
@BasicAuth()
@Controller(ROUTE)
export class AnalyticsPageController {
  constructor(private readonly analytics: AnalyticsService) {}

  @Get(['', 'index.html'])
  page(@Res() res: Response): void {
    sendFile(res, join(PAGE_DIR, 'index.html'));
  }

  @Get('assets/:name')
  asset(@Param('name') name: string, @Res() res: Response): void {
    const file = ASSETS[name];
    if (!file) throw new NotFoundError('Analytics page asset', name);
    sendFile(res, file);
  }

  @Get('data/funnel')
  funnel(@CurrentCaller() caller: Caller, @Query() query: FunnelQuery) {
    return this.analytics.funnel(caller, query);
  }
}

/** First in the Express stack: /admin/analytics/... continues as the controller's route, through the whole pipeline. */
export function routeToAnalyticsPage(req: Request, _: Response, next: NextFunction): void {
  const rest = req.url.slice(ANALYTICS_PAGE_PATH.length);
  if (req.url.startsWith(ANALYTICS_PAGE_PATH) && (rest === '' || rest[0] === '/' || rest[0] === '?')) {
    req.url = ROUTED_PATH + rest;
  }
  next();
}

function sendFile(res: Response, path: string): void {
  res.setHeader('Cache-Control', 'no-cache');
  res.sendFile(path);
}
