import {
  GraphQLError,
  execute,
  getOperationAST,
  getVariableValues,
  parse,
  validate,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLFormattedError,
} from 'graphql';

import { isJsonContentType, isPlainObject, sendJson, type RequestContext, type RouteDef } from '../http';
import type { SandboxEnv, SandboxProviderInstance } from '../sandbox-provider';
import { queryCost } from './cost';
import { fieldResolver, rootValue, type JobberCallContext } from './resolvers';
import { jobberSchema } from './schema';
import type { Account, JobberStore } from './store';
import type { JobberRequestRecord } from './types';

/** Jobber's API paths: OAuth and GraphQL (providers.md 3.1). */
export const JOBBER_PATH = /^\/api\/(oauth\/(authorize|token)|graphql)\/?$/;

const RATE_LIMITS_DOC = 'https://developer.getjobber.com/docs/using_jobbers_api/api_rate_limits';
const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

// Doorkeeper's wording (Jobber's OAuth server is a Rails app); the refresh-token text is Jobber's (providers.md 3.1).
const OAUTH_ERRORS = {
  invalid_request:
    'The request is missing a required parameter, includes an unsupported parameter value, or is otherwise malformed.',
  invalid_client:
    'Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.',
  invalid_grant:
    'The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.',
  invalid_refresh_token: 'The provided refresh token is not valid.',
  unsupported_grant_type: 'The authorization grant type is not supported by the authorization server.',
} as const;

type JobberApi = Pick<SandboxProviderInstance, 'routes' | 'authenticate' | 'sendError'>;

/** Jobber-style GraphQL error body for transport-level failures (404, 405, 429, injected faults). */
function graphQLErrorBody(message: string, code?: string): { errors: GraphQLFormattedError[] } {
  return { errors: [{ message, ...(code ? { extensions: { code } } : {}) }] };
}

export function jobberApi(
  store: JobberStore,
  env: SandboxEnv,
  hooks: { onRequestCreated(request: JobberRequestRecord): void },
): JobberApi {
  const oauthError = (ctx: RequestContext, status: number, error: keyof typeof OAUTH_ERRORS) => {
    const code = error === 'invalid_refresh_token' ? 'invalid_grant' : error;
    sendJson(ctx.res, status, { error: code, error_description: OAUTH_ERRORS[error] }, NO_STORE);
  };

  function redirect(ctx: RequestContext, target: URL, params: Record<string, string | null>): void {
    for (const [key, value] of Object.entries(params)) if (value !== null) target.searchParams.set(key, value);
    ctx.res.writeHead(302, { Location: target.toString(), 'Content-Length': 0 });
    ctx.res.end();
  }

  function authorize(ctx: RequestContext): void {
    const q = ctx.url.searchParams;
    const clientId = q.get('client_id');
    const app = clientId ? store.apps.get(clientId) : undefined;
    let redirectUri: URL | null = null;
    try {
      redirectUri = new URL(q.get('redirect_uri') ?? '');
    } catch {
      // answered below
    }
    // Never redirect to an unverified place: an unknown app or a bad redirect_uri is answered here.
    if (!app) return oauthError(ctx, 400, 'invalid_client');
    if (!redirectUri || !/^https?:$/.test(redirectUri.protocol)) return oauthError(ctx, 400, 'invalid_request');
    const state = q.get('state');
    if (q.get('response_type') !== 'code') {
      return redirect(ctx, redirectUri, { error: 'unsupported_response_type', state });
    }
    if (!store.settings.authorize.approve) {
      return redirect(ctx, redirectUri, {
        error: 'access_denied',
        error_description: 'The resource owner or authorization server denied the request.',
        state,
      });
    }
    const wanted = store.settings.authorize.accountId;
    const account = (wanted && store.accounts.get(wanted)) || store.createAccount();
    ctx.account = account.id;
    const code = store.issueCode(app.clientId, redirectUri.toString(), account.id);
    redirect(ctx, redirectUri, { code, state });
  }

  function token(ctx: RequestContext): void {
    if (!/application\/x-www-form-urlencoded/i.test(ctx.req.headers['content-type'] ?? '')) {
      return oauthError(ctx, 400, 'invalid_request');
    }
    const form = new URLSearchParams(ctx.rawBody);
    let clientId = form.get('client_id');
    let clientSecret = form.get('client_secret');
    const basic = /^Basic\s+(\S+)$/i.exec(ctx.req.headers.authorization ?? '');
    if (basic) {
      const [id, ...secret] = Buffer.from(basic[1], 'base64').toString('utf8').split(':');
      clientId = decodeURIComponent(id);
      clientSecret = decodeURIComponent(secret.join(':'));
    }
    const app = store.checkApp(clientId, clientSecret);
    if (!app) return oauthError(ctx, 401, 'invalid_client');

    let grant;
    switch (form.get('grant_type')) {
      case 'authorization_code': {
        const code = store.takeCode(form.get('code') ?? '');
        if (!code || code.clientId !== app.clientId || code.redirectUri !== normalizeUri(form.get('redirect_uri'))) {
          return oauthError(ctx, 400, 'invalid_grant');
        }
        grant = store.createGrant(app.clientId, code.accountId);
        break;
      }
      case 'refresh_token': {
        const result = store.refresh(app.clientId, form.get('refresh_token') ?? '');
        if (!result.ok) {
          if (result.accountId) {
            ctx.account = result.accountId;
            if (result.reason !== 'reused') (store.accounts.get(result.accountId) as Account).invalidRefreshAttempts++;
          }
          return oauthError(ctx, 400, 'invalid_refresh_token');
        }
        grant = result.grant;
        break;
      }
      case null:
        return oauthError(ctx, 400, 'invalid_request');
      default:
        return oauthError(ctx, 400, 'unsupported_grant_type');
    }
    ctx.account = grant.accountId;
    ctx.credential = grant.grantId;
    const access = store.issueAccessToken(grant);
    sendJson(
      ctx.res,
      200,
      {
        access_token: access.token,
        token_type: 'Bearer',
        expires_in: store.settings.accessTokenTtlSeconds,
        expires_at: new Date(access.expiresAt).toISOString(),
        created_at: Math.floor(Date.now() / 1000),
        refresh_token: grant.refreshToken,
      },
      NO_STORE,
    );
  }

  async function graphql(ctx: RequestContext): Promise<void> {
    const account = store.accounts.get(ctx.account as string) as Account;
    const version = ctx.req.headers['x-jobber-graphql-version'];
    if (typeof version !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(version.trim())) {
      return sendJson(
        ctx.res,
        400,
        graphQLErrorBody('The X-JOBBER-GRAPHQL-VERSION header is required (YYYY-MM-DD)', 'MISSING_API_VERSION'),
      );
    }
    // Since 2024-04-02 Jobber refuses anything but JSON bodies (providers.md 3.1).
    if (!isJsonContentType(ctx.req)) {
      return sendJson(ctx.res, 415, graphQLErrorBody('Content-Type must be application/json'));
    }
    let body: unknown;
    try {
      body = JSON.parse(ctx.rawBody);
    } catch {
      return sendJson(ctx.res, 400, graphQLErrorBody('The request body is not valid JSON'));
    }
    if (!isPlainObject(body) || typeof body.query !== 'string') {
      return sendJson(ctx.res, 400, graphQLErrorBody('The body must be a JSON object with a "query" string'));
    }
    const variables = body.variables ?? {};
    if (!isPlainObject(variables)) return sendJson(ctx.res, 400, graphQLErrorBody('"variables" must be an object'));
    const operationName = typeof body.operationName === 'string' ? body.operationName : undefined;
    const versioning = { version: version.trim() };
    // Parse, validation and variable errors are GraphQL errors with HTTP 200, as graphql-ruby answers them.
    const answerErrors = (errors: readonly GraphQLError[]) =>
      sendJson(ctx.res, 200, { errors: errors.map((e) => e.toJSON()), extensions: { versioning } });

    const schema = jobberSchema();
    let document: DocumentNode;
    try {
      document = parse(body.query);
    } catch (e) {
      if (e instanceof GraphQLError) return answerErrors([e]);
      throw e;
    }
    const validationErrors = validate(schema, document);
    if (validationErrors.length) return answerErrors(validationErrors);
    const operation = getOperationAST(document, operationName);
    if (!operation) {
      return answerErrors([
        new GraphQLError(
          operationName
            ? `Unknown operation named "${operationName}".`
            : 'Must provide operation name if query contains multiple operations.',
        ),
      ]);
    }
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables);
    if (coerced.errors) return answerErrors(coerced.errors);

    const fragments: Record<string, FragmentDefinitionNode> = {};
    for (const d of document.definitions) if (d.kind === 'FragmentDefinition') fragments[d.name.value] = d;
    const requested = queryCost(schema, operation, fragments, coerced.coerced);
    const throttleStatus = () => ({
      maximumAvailable: store.settings.maximumAvailable,
      currentlyAvailable: store.available(account),
      restoreRate: store.settings.restoreRate,
    });
    if (requested > store.available(account)) {
      account.throttled++;
      return sendJson(ctx.res, 200, {
        errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED', documentation: RATE_LIMITS_DOC } }],
        extensions: {
          cost: { requestedQueryCost: requested, actualQueryCost: 0, throttleStatus: throttleStatus() },
          versioning,
        },
      });
    }

    const call: JobberCallContext = {
      store,
      account,
      hold: false,
      onRequestCreated: hooks.onRequestCreated,
      shouldTimeoutAfterCreate: env.shouldTimeoutAfterCreate,
    };
    const result = await execute({
      schema,
      document,
      operationName,
      variableValues: variables,
      rootValue: rootValue(call),
      contextValue: call,
      fieldResolver,
    });
    const actual = queryCost(schema, operation, fragments, coerced.coerced, result.data ?? null);
    store.spend(account, actual);
    if (call.hold) return ctx.hold();
    sendJson(ctx.res, 200, {
      ...(result.errors ? { errors: result.errors.map((e) => e.toJSON()) } : {}),
      data: result.data ?? null,
      extensions: {
        cost: { requestedQueryCost: requested, actualQueryCost: actual, throttleStatus: throttleStatus() },
        versioning,
      },
    });
  }

  const routes: RouteDef[] = [
    { method: 'GET', path: '/api/oauth/authorize', public: true, handler: authorize },
    { method: 'POST', path: '/api/oauth/token', public: true, handler: token },
    { method: 'POST', path: '/api/graphql', handler: graphql },
  ];

  return {
    routes,
    authenticate(ctx) {
      const unauthorized = (description: string) => {
        sendJson(
          ctx.res,
          401,
          { error: 'invalid_request', error_description: description },
          { 'WWW-Authenticate': `Bearer error="invalid_token", error_description="${description}"` },
        );
        return false;
      };
      const bearer = /^Bearer\s+(\S+)\s*$/i.exec(ctx.req.headers.authorization ?? '');
      if (!bearer) return unauthorized('Authorization: Bearer <access token> is required');
      const check = store.checkAccessToken(bearer[1]);
      if (!check.ok) {
        const why = {
          malformed: 'is invalid',
          bad_signature: 'is invalid',
          expired: 'expired',
          revoked: 'was revoked',
        };
        return unauthorized(`The access token ${why[check.reason]}`);
      }
      ctx.account = check.accountId;
      ctx.credential = check.grantId;
      return true;
    },
    sendError(ctx, status, message, headers) {
      const code = status === 429 ? 'TOO_MANY_REQUESTS' : undefined;
      sendJson(ctx.res, status, graphQLErrorBody(message, code), headers);
    },
  };
}

/** redirect_uri as the authorize step stored it (URL-normalised), or null. */
function normalizeUri(value: string | null): string | null {
  try {
    return value ? new URL(value).toString() : null;
  } catch {
    return null;
  }
}
