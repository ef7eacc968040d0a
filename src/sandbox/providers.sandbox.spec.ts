import { sendJson } from './http';
import { SANDBOX_PROVIDERS } from './providers';
import { startSandbox, type RunningSandbox } from './sandbox';
import { SandboxControl } from './sandbox-control.client';
import { defineSandboxProvider } from './sandbox-provider';

/** A provider defined only here: the shared plumbing must serve it without knowing its name. */
const widgets = defineSandboxProvider({
  name: 'widgets',
  ownsPath: (pathname) => pathname.startsWith('/widgets'),
  create(env) {
    const widgets: { id: number; account: string }[] = [];
    return {
      routes: [
        {
          method: 'POST',
          path: '/widgets',
          handler: (ctx) => {
            widgets.push({ id: widgets.length + 1, account: ctx.account as string });
            if (env.shouldTimeoutAfterCreate()) return ctx.hold();
            sendJson(ctx.res, 201, widgets.at(-1));
          },
        },
      ],
      authenticate(ctx) {
        const key = ctx.req.headers['x-widget-account'];
        if (typeof key !== 'string') {
          sendJson(ctx.res, 401, { widgetError: 'who are you' });
          return false;
        }
        ctx.account = key;
        ctx.credential = `cred-${key}`;
        return true;
      },
      sendError: (ctx, status, message) => sendJson(ctx.res, status, { widgetError: message }),
      controlRoutes: [{ method: 'GET', path: '/count', handler: (ctx) => sendJson(ctx.res, 200, widgets.length) }],
      records: () => ({ widgets }),
    };
  },
});

describe('sandbox: a provider is one definition registered in a list', () => {
  let sandbox: RunningSandbox;
  let control: SandboxControl;

  beforeAll(async () => {
    sandbox = await startSandbox({ providers: [...SANDBOX_PROVIDERS, widgets] });
    control = new SandboxControl(sandbox.url);
  });
  afterAll(() => sandbox.close());
  beforeEach(() => control.reset());

  const post = (account?: string) =>
    fetch(`${sandbox.url}/widgets`, { method: 'POST', headers: account ? { 'X-Widget-Account': account } : {} });

  it('routes, authenticates, counts, faults and resets the new provider through the shared plumbing', async () => {
    expect((await post()).status).toBe(401);
    expect((await post('acme')).status).toBe(201);
    expect(await (await fetch(`${sandbox.url}/_sandbox/widgets/count`)).json()).toBe(1);
    expect(await (await fetch(`${sandbox.url}/_sandbox/records?provider=widgets`)).json()).toEqual({
      widgets: { widgets: [{ id: 1, account: 'acme' }] },
    });

    await fetch(`${sandbox.url}/_sandbox/faults/widgets`, { method: 'PUT', body: JSON.stringify({ errorRate: 1 }) });
    const faulted = await post('acme');
    expect(faulted.status).toBe(503);
    expect(await faulted.json()).toEqual({ widgetError: expect.any(String) });

    const stats = (await control.stats()).providers.widgets;
    expect(stats).toMatchObject({ requests: 3, byAccount: { acme: 2 }, byCredential: { 'cred-acme': 2 } });
    expect((await control.stats()).providers.servicetitan.requests).toBe(0);

    await control.reset();
    expect(await (await fetch(`${sandbox.url}/_sandbox/widgets/count`)).json()).toBe(0);
  });

  it('refuses a provider name that clashes with a shared control path', async () => {
    await expect(startSandbox({ providers: [{ ...widgets, name: 'stats' }] })).rejects.toThrow(/invalid/);
  });
});
