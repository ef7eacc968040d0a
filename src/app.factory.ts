import { IncomingMessage, Server, ServerResponse } from 'node:http';

import { INestApplication, LoggerService, RequestMethod } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import type { OpenAPIObject } from '@nestjs/swagger';
import { raw } from 'express';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { DestinationStream } from 'pino';

import { AppModule } from './app.module';
import { JsonBodyInterceptor, MAX_BODY_BYTES } from './common/json-body.interceptor';
import { ProblemDetailsFilter, answerClientError } from './common/problem-details.filter';
import { AppConfig } from './config/app-config';
import { runsApi } from './config/app-mode';

/** Builds the application for the configured mode; main.ts and the e2e tests share it. */
export async function createApp(
  config: AppConfig,
  options: { logDestination?: DestinationStream } = {},
): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forConfig(config, options), {
    bufferLogs: true,
    bodyParser: false,
  });
  app.useLogger(new StartupRouteLogger(app.get(Logger)));
  // Provider webhooks are signed over their exact bytes: those routes read the raw body first (the JSON interceptor
  // then finds the request read and leaves it alone). Every other route's JSON is parsed after authentication.
  app.use('/api/webhooks', raw({ type: () => true, limit: MAX_BODY_BYTES }));
  // JSON bodies are parsed after authentication (JsonBodyInterceptor), not by a middleware before it.
  app.useGlobalInterceptors(new JsonBodyInterceptor());
  app.set('etag', false);
  app.disable('x-powered-by');
  // The client address (failed-authentication throttle, access log) from X-Forwarded-For, as far as trusted.
  app.set('trust proxy', config.trustProxy);
  // Swagger UI needs inline scripts and styles; everything else gets helmet's defaults.
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          'script-src': ["'self'", "'unsafe-inline'"],
          'style-src': ["'self'", "'unsafe-inline'"],
          'img-src': ["'self'", 'data:'],
        },
      },
    }),
  );
  setRoutePrefix(app);
  app.useGlobalFilters(new ProblemDetailsFilter());
  const server = app.getHttpServer() as Server;
  server.on('clientError', answerClientError);
  // Node's defaults let a client hold a connection 300 s while it trickles a request in. Every client
  // is a server-side integration: 10 s is ample for a request head and 30 s for a whole request of at
  // most 256 kB (Node checks both every 30 s, so a slow client is cut within a minute at most).
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  // Longer than the idle timeout of the load balancer in front (60 s for AWS ALB and nginx), so the
  // server never closes a kept-alive connection the balancer is about to reuse (that request would 502).
  server.keepAliveTimeout = 65_000;
  // server.close() ends the idle kept-alive connections once; one still answering a request then stays
  // open for keepAliveTimeout and holds the shutdown. Each is closed as soon as its response is out.
  server.on('request', (_: IncomingMessage, res: ServerResponse) =>
    res.once('finish', () => {
      if (!server.listening) setImmediate(() => server.closeIdleConnections());
    }),
  );

  if (runsApi(config.mode)) {
    // The worker's routes (health, metrics) take no body or query DTO: it loads no class-validator.
    const { createValidationPipe } = await import('./common/validation');
    app.useGlobalPipes(createValidationPipe({ trades: config.trades }));
    // Imported here, not at the top: a worker never loads Swagger, Bull Board or the analytics page.
    const [{ SwaggerModule }, { buildOpenApiDocument }, { routeToBullBoard }, { routeToAnalyticsPage }] =
      await Promise.all([
        import('@nestjs/swagger'),
        import('./openapi/openapi-document'),
        import('./admin/bull-board.controller'),
        import('./analytics/analytics-page.controller'),
      ]);
    const document = buildOpenApiDocument(app, config);
    SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json' });
    // Before Nest's router (added when the app initialises): the admin pages are controllers like any other.
    app.use(routeToBullBoard);
    app.use(routeToAnalyticsPage);
  }
  return app;
}

/**
 * Nest's log over pino, without the RoutesResolver's per-controller headers: they prefix every controller with
 * /api, /metrics too, which the prefix excludes. The "Mapped {/metrics, GET} route" lines under them are right.
 */
class StartupRouteLogger implements LoggerService {
  constructor(private readonly pino: Logger) {}
  log(message: unknown, ...rest: unknown[]): void {
    if (rest.at(-1) !== 'RoutesResolver') this.pino.log(message, ...rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.pino.error(message, ...rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.pino.warn(message, ...rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.pino.debug(message, ...rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.pino.verbose(message, ...rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.pino.fatal(message, ...rest);
  }
}

/** Everything under /api, but /metrics where Prometheus expects it. */
function setRoutePrefix(app: INestApplication): void {
  app.setGlobalPrefix('api', { exclude: [{ path: 'metrics', method: RequestMethod.GET }] });
}

/**
 * The OpenAPI document, built without connecting to anything or listening: a preview app only scans the modules
 * (`npm run lint:api`, the contract tests).
 */
export async function createOpenApiDocument(config: AppConfig): Promise<OpenAPIObject> {
  if (!runsApi(config.mode)) throw new Error('The OpenAPI document describes the API: APP_MODE must be api or all');
  const app = await NestFactory.create(AppModule.forConfig(config), { preview: true, logger: false });
  setRoutePrefix(app);
  try {
    const { buildOpenApiDocument } = await import('./openapi/openapi-document');
    return buildOpenApiDocument(app, config);
  } finally {
    await app.close();
  }
}
