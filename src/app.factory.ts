import { INestApplication, RequestMethod } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { raw } from 'express';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { DestinationStream } from 'pino';

import { mountBullBoard } from './admin/bull-board';
import { AppModule } from './app.module';
import { ProblemDetailsFilter, answerClientError } from './common/problem-details.filter';
import { validationPipe } from './common/validation';
import { AppConfig } from './config/app-config';
import { runsApi } from './config/app-mode';
import { describeProviders } from './providers/provider-openapi';

/** Builds the application for the configured mode; main.ts and the e2e tests share it. */
export async function createApp(
  config: AppConfig,
  options: { logDestination?: DestinationStream } = {},
): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forConfig(config, options), {
    bufferLogs: true,
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  // Provider webhooks are signed over their exact bytes: those routes get the raw body (and the JSON parser,
  // registered after, leaves a body already read alone). Every other route parses JSON as before.
  app.use('/api/webhooks', raw({ type: () => true, limit: '256kb' }));
  app.useBodyParser('json', { limit: '256kb' });
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
  app.setGlobalPrefix('api', { exclude: [{ path: 'metrics', method: RequestMethod.GET }] });
  app.useGlobalFilters(new ProblemDetailsFilter());
  app.getHttpServer().on('clientError', answerClientError);
  app.useGlobalPipes(validationPipe);
  // SIGTERM/SIGINT: drain, close, then exit 0 (Nest's default re-raises the signal, so a clean drain looked like a kill).
  app.enableShutdownHooks([], { useProcessExit: true });

  if (runsApi(config.mode)) {
    const document = describeProviders(
      SwaggerModule.createDocument(
        app,
        new DocumentBuilder()
          .setTitle('TradeEngage Integration Service')
          .setDescription(
            'Referral jobs routed to partner companies and synced with ServiceTitan and Housecall Pro. ' +
              'Errors are `application/problem+json` (RFC 9457). Lists use cursor pagination.',
          )
          .setVersion('1.0')
          .addBearerAuth({
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'API key',
            description: 'An API key from POST /api/api-keys',
          })
          .build(),
      ),
    );
    SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json' });
    mountBullBoard(app);
  }
  return app;
}
