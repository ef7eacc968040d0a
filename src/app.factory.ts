import { INestApplication, LoggerService, RequestMethod } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { NextFunction, Request, Response, raw } from 'express';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { DestinationStream } from 'pino';

import { mountBullBoard } from './admin/bull-board';
import { AppModule } from './app.module';
import { ValidationError } from './common/errors';
import { ProblemDetailsFilter, answerClientError } from './common/problem-details.filter';
import { createValidationPipe } from './common/validation';
import { AppConfig } from './config/app-config';
import { runsApi } from './config/app-mode';
import { buildOpenApiDocument } from './openapi/openapi-document';

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
  // Provider webhooks are signed over their exact bytes: those routes get the raw body (and the JSON parser,
  // registered after, leaves a body already read alone). Every other route parses JSON as before.
  app.use('/api/webhooks', raw({ type: () => true, limit: '256kb' }));
  app.useBodyParser('json', { limit: '256kb' });
  // Nest would answer the parser's SyntaxError with a 400 whose detail quotes the start of the body: never echo it.
  app.use((error: unknown, _req: Request, _res: Response, next: NextFunction) =>
    next(error instanceof SyntaxError ? new ValidationError([{ field: 'body', message: 'is not valid JSON' }]) : error),
  );
  app.set('etag', false);
  app.disable('x-powered-by');
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
  app.getHttpServer().on('clientError', answerClientError);
  app.useGlobalPipes(createValidationPipe({ trades: config.trades }));
  // SIGTERM/SIGINT: drain, close, then exit 0 (Nest's default re-raises the signal, so a clean drain looked like a kill).
  app.enableShutdownHooks([], { useProcessExit: true });

  if (runsApi(config.mode)) {
    const document = buildOpenApiDocument(app, config);
    SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json' });
    mountBullBoard(app);
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
    return buildOpenApiDocument(app, config);
  } finally {
    await app.close();
  }
}
