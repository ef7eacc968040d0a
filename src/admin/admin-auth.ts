import { NextFunction, Request, Response } from 'express';

import { ApiKeysService } from '../auth/api-keys.service';

/**
 * Express middleware for the admin pages (Bull Board, analytics): `Authorization: Bearer <admin key>`, or HTTP
 * basic auth with the admin key as the password (so a browser can open them). Anything else is a problem+json
 * 401 with a Basic challenge, or 403 for a key that is not an admin's.
 */
export function adminOnly(apiKeys: ApiKeysService, page: { realm: string; name: string }) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const key = presentedKey(req.headers.authorization);
    const caller = key ? await apiKeys.authenticate(key).catch(() => null) : null;
    if (caller?.role === 'admin') return next();
    res
      .status(caller ? 403 : 401)
      .setHeader('WWW-Authenticate', `Basic realm="${page.realm}", charset="UTF-8"`)
      .type('application/problem+json')
      .send(
        JSON.stringify({
          type: 'https://tradeengage.dev/problems/' + (caller ? 'forbidden' : 'unauthorized'),
          title: caller ? 'Forbidden' : 'Unauthorized',
          status: caller ? 403 : 401,
          detail: caller
            ? `The ${page.name} needs an admin key`
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
