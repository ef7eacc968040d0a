import { Controller, Get, Header, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiProperty, ApiTags } from '@nestjs/swagger';
import { Request } from 'express';

import { Caller, CurrentCaller, Public, Roles } from '../auth/caller';
import { ApiProblems } from '../common/openapi';
import { UuidPipe } from '../common/uuid.pipe';
import { OAuthService } from './oauth.service';

export class AuthorizeResponse {
  @ApiProperty({
    description: "The provider's authorize page: open it in a browser, approve, and the provider sends you back",
    example: 'https://api.getjobber.com/api/oauth/authorize?response_type=code&client_id=…&redirect_uri=…&state=…',
  })
  authorizeUrl: string;
}

@ApiTags('companies')
@Controller()
export class OAuthController {
  constructor(private readonly oauth: OAuthService) {}

  @Post('companies/:id/connections/:provider/authorize')
  @HttpCode(200)
  @ApiBearerAuth()
  @Roles('admin', 'company')
  @ApiOperation({
    operationId: 'authorizeConnection',
    summary: 'Start an OAuth connect (Jobber)',
    description:
      "The provider's authorize URL for this company, with a signed state that works once within 10 minutes. " +
      'Open it in a browser and approve; the provider sends the browser back to the callback, which stores the new ' +
      'active connection. Admin, or the company’s own key.',
  })
  @ApiParam({ name: 'id', format: 'uuid', description: 'The company' })
  @ApiParam({ name: 'provider', example: 'jobber', description: 'A provider that connects through OAuth' })
  @ApiOkResponse({
    type: AuthorizeResponse,
    description: 'The URL to send the company admin to (valid 10 minutes, once)',
  })
  @ApiProblems(400, 401, 403, 404, 503)
  async authorize(
    @CurrentCaller() caller: Caller,
    @Param('id', new UuidPipe()) id: string,
    @Param('provider') provider: string,
  ): Promise<AuthorizeResponse> {
    return { authorizeUrl: await this.oauth.authorizeUrl(caller, id, provider) };
  }

  /** No API key: the signed, single-use `state` authenticates the browser that comes back from the provider. */
  @Get('oauth/:provider/callback')
  @Public()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    operationId: 'oauthCallback',
    summary: 'OAuth callback (the provider redirects the browser here)',
    description:
      'Exchanges the code, stores the tokens encrypted in a new active connection and answers a short page. A bad, ' +
      "reused or expired `state`, or the provider's `error`, is a 400 and stores nothing.",
  })
  @ApiParam({ name: 'provider', example: 'jobber' })
  @ApiOkResponse({
    description: 'A short page saying the company is connected',
    content: { 'text/html': { schema: { type: 'string' } } },
  })
  @ApiProblems(400, 404, 502, 503)
  async callback(@Param('provider') provider: string, @Req() req: Request & { id?: unknown }): Promise<string> {
    const query = Object.fromEntries(
      ['code', 'state', 'error', 'error_description'].map((k) => [
        k,
        typeof req.query[k] === 'string' ? req.query[k] : undefined,
      ]),
    ) as { code?: string; state?: string; error?: string; error_description?: string };
    const done = await this.oauth.complete(provider, query, req.id == null ? null : String(req.id));
    return page(
      `${done.companyName} is connected to ${done.providerName}`,
      `Referrals for ${done.companyName} now reach the ${done.providerName} account “${done.accountName}”. You can close this window.`,
    );
  }
}

function page(title: string, text: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto"><h1>${escape(title)}</h1><p>${escape(text)}</p></body></html>`;
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
