import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { AppControllerRoute, AppViewRoute, BullBoardRequest } from '@bull-board/api/typings/app';
import { ExpressAdapter } from '@bull-board/express';
import { All, Controller, HttpStatus, Inject, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { Queue } from 'bullmq';
import { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import { DataSource } from 'typeorm';

import { actorOf } from '../audit/actor';
import { asDashboardActor, queueDashboardAuditHooks } from '../audit/queue-dashboard-audit';
import { BasicAuth, Caller, Roles } from '../auth/caller';
import { DomainError, ForbiddenError } from '../common/errors';
import { assertQueueConnected } from '../queue/queue-stats';
import { ALL_QUEUES } from '../queue/queues';
import { REDIS_DEADLINE_MS, withDeadline } from '../redis/deadline';

export const BULL_BOARD_PATH = '/admin/queues';
// Where Nest routes the dashboard: under the global `/api` prefix, whose `/api/admin/queues` is the
// queue counts of the API. Requests to BULL_BOARD_PATH are sent here by routeToBullBoard.
const ROUTE = 'admin/queue-dashboard';
const ROUTED_PATH = `/api/${ROUTE}`;

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Opened as http://user:key@host/admin/queues (credentials in the URL), the page's base URL carries
 * the credentials and fetch() refuses every URL resolved against it, so Bull Board never loads its
 * translations and shows raw keys such as MENU.QUEUES. This reloads the page without them before
 * Bull Board starts; the browser keeps the credentials it has just used for the site.
 */
const REOPEN_WITHOUT_URL_CREDENTIALS =
  'if(/^[a-z]+:\\/\\/[^/]*@/i.test(document.baseURI))' +
  'location.replace(location.origin+location.pathname+location.search+location.hash);';

/**
 * Bull Board's Express adapter, with its API behind the Redis deadline (503 within
 * REDIS_DEADLINE_MS, and nothing attempted while Redis is down, so no action answered 503 happens
 * later) and its errors handed to the service's own pipeline (problem+json, never a stack trace).
 */
class BullBoardAdapter extends ExpressAdapter {
  constructor(private readonly queues: Queue[]) {
    super();
    this.app.disable('x-powered-by');
  }

  override setApiRoutes(routes: AppControllerRoute[]): this {
    const router = Router();
    for (const route of routes) {
      for (const method of [route.method].flat()) {
        router[method as 'get'](route.route, (req: Request, res: Response, next: NextFunction) => {
          this.answer(route, req).then((answer) => res.status(answer.status ?? 200).json(answer.body), next);
        });
      }
    }
    this.app.use(router);
    return this;
  }

  override setEntryRoute(route: AppViewRoute): this {
    this.app[route.method as 'get'](route.route, (_: Request, res: Response, next: NextFunction) => {
      const { name, params } = route.handler({ basePath: this.basePath, uiConfig: this.uiConfig });
      res.render(name, params, (error: Error | null, html: string) => {
        if (error) return next(error);
        res.type('html').send(html.replace('<head>', `<head><script>${REOPEN_WITHOUT_URL_CREDENTIALS}</script>`));
      });
    });
    return this;
  }

  private async answer(route: AppControllerRoute, req: Request) {
    await Promise.all(this.queues.map((queue) => assertQueueConnected(queue, REDIS_DEADLINE_MS)));
    const request: BullBoardRequest = {
      queues: this.bullBoardQueues!,
      uiConfig: this.uiConfig,
      query: req.query as Record<string, unknown>,
      params: req.params,
      body: req.body as Record<string, unknown>,
      headers: req.headers as Record<string, string | undefined>,
    };
    return withDeadline(Promise.resolve(route.handler(request)), REDIS_DEADLINE_MS);
  }
}

/**
 * Bull Board at /admin/queues, behind the same pipeline as the API: request id and access log,
 * the API key guard (admin role; basic auth with the key as password, so a browser can open it;
 * failed-authentication throttle; rate limit), problem+json errors. A change (adding, retrying,
 * removing jobs) must come from the dashboard's own page: a browser sends the basic-auth
 * credentials it has cached with any request to the site, so a cross-site form could otherwise
 * act as the admin.
 */
@ApiExcludeController()
@Roles('admin')
@BasicAuth()
@Controller(ROUTE)
export class BullBoardController {
  private readonly board: RequestHandler;

  constructor(@Inject(ALL_QUEUES) queues: Queue[], @InjectDataSource() db: DataSource) {
    const adapter = new BullBoardAdapter(queues);
    adapter.setBasePath(BULL_BOARD_PATH);
    createBullBoard({
      queues: queues.map((queue) => new BullMQAdapter(queue)),
      serverAdapter: adapter,
      // Every change made through the dashboard is an audit event of the admin who made it.
      options: { handlerHooks: queueDashboardAuditHooks(db) },
    });
    this.board = adapter.getRouter() as RequestHandler;
  }

  @All(['', '{*path}'])
  serve(@Req() req: Request & { caller: Caller; id?: unknown }, @Res() res: Response): Promise<void> {
    if (!SAFE_METHODS.has(req.method) && !isSameOrigin(req)) {
      throw new ForbiddenError('Changes through the queue dashboard must come from the dashboard page itself');
    }
    const rest = req.url.slice(ROUTED_PATH.length);
    req.url = rest.startsWith('/') ? rest : `/${rest}`;
    return new Promise((resolve, reject) => {
      res.once('close', () => resolve());
      asDashboardActor(actorOf(req.caller, req.id), () =>
        this.board(req, res, (error?: unknown) =>
          reject(error ?? new DomainError(HttpStatus.NOT_FOUND, 'Not Found', 'No such page of the queue dashboard')),
        ),
      );
    });
  }
}

/**
 * First in the Express stack: a request for /admin/queues/... continues as one for the controller's
 * route, so it passes every middleware, guard and filter of the API (the logs keep the original URL).
 */
export function routeToBullBoard(req: Request, _: Response, next: NextFunction): void {
  const rest = req.url.slice(BULL_BOARD_PATH.length);
  if (req.url.startsWith(BULL_BOARD_PATH) && (rest === '' || rest[0] === '/' || rest[0] === '?')) {
    req.url = ROUTED_PATH + rest;
  }
  next();
}

/** Browsers say where a request comes from: Sec-Fetch-Site, or at least Origin on every non-GET request. */
function isSameOrigin(req: Request): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined) return site === 'same-origin';
  const origin = req.headers.origin;
  if (!origin) return false;
  try {
    return new URL(origin).host === req.host;
  } catch {
    return false;
  }
}
