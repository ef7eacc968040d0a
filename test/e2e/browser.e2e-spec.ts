import { existsSync, mkdirSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import { join, resolve } from 'node:path';

import { getQueueToken } from '@nestjs/bullmq';
import { Queue } from 'bullmq';

import { Browser, BrowserContext, Page, chromium } from 'playwright-core';

import { QUEUE, QUEUE_NAMES } from '../../src/queue/queues';
import { TestApp, flushTestRedis, startTestApp } from '../helpers/app';
import { TEST_ADMIN_KEY } from '../test-env';

// A real browser against the running app: what an operator sees of Swagger UI and Bull Board.
// Debian's Chromium, not a downloaded build: .ci/run installs the `chromium` package.
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = resolve(__dirname, '../artifacts');
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

interface OpenApiDocument {
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { $ref?: string } }> } }>>;
  components: { schemas: Record<string, { required?: string[]; properties?: Record<string, unknown> }> };
}

describe('Browser - Swagger UI and Bull Board in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      // Fail, never skip: CI installs it (.ci/run), and a developer gets the same command.
      throw new Error(
        `Chromium is missing at ${CHROMIUM}: install Debian's package (apt-get install -y chromium) to run the browser tests`,
      );
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    // launch() gives every run a fresh, temporary user-data dir (Playwright refuses --user-data-dir here).
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
    // Bull Board counts against the admin key's rate limit: start from an empty window.
    await flushTestRedis();
    t = await startTestApp({}, 'all');
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  /** A context that can reach only the app under test (no fonts or CDNs from the internet), and `alsoHosts`. */
  async function newContext(
    options: Parameters<Browser['newContext']>[0] = {},
    alsoHosts: string[] = [],
  ): Promise<BrowserContext> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
    const allowed = new Set([new URL(t.url).host, ...alsoHosts]);
    await context.route('**/*', (route) =>
      allowed.has(new URL(route.request().url()).host) ? route.continue() : route.abort(),
    );
    return context;
  }

  async function newPage(context: BrowserContext): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`));
    return page;
  }

  it('renders Swagger UI at /api/docs and shows the request body of POST /api/jobs', async () => {
    // What the UI must show, read from the OpenAPI document the app serves.
    const doc = (await (await fetch(`${t.url}/api/docs-json`)).json()) as OpenApiDocument;
    const ref = doc.paths['/api/jobs'].post.requestBody?.content['application/json'].schema.$ref ?? '';
    const schemaName = ref.replace('#/components/schemas/', '');
    const required = doc.components.schemas[schemaName]?.required ?? [];
    expect(required).toEqual(expect.arrayContaining(['companyId', 'homeowner', 'address']));

    const context = await newContext();
    const page = await newPage(context);
    const response = await page.goto(`${t.url}/api/docs`, { waitUntil: 'domcontentloaded' });
    expect(response?.status()).toBe(200);

    await page.locator('.swagger-ui .information-container .title').waitFor({ timeout: 20_000 });
    await expect(page.locator('.swagger-ui .information-container .title').innerText()).resolves.toContain(
      'TradeEngage Integration Service',
    );

    const operation = page
      .locator('.opblock.opblock-post')
      .filter({ has: page.locator('.opblock-summary-path[data-path="/api/jobs"]') });
    await expect(operation.count()).resolves.toBe(1);
    await operation.locator('.opblock-summary-path').click();

    const requestBody = operation.locator('.opblock-section-request-body');
    await requestBody.waitFor({ state: 'visible', timeout: 10_000 });
    // The default tab: the example JSON, with every required field.
    const example = requestBody.locator('.body-param__example, .highlight-code').first();
    await example.waitFor({ state: 'visible' });
    const exampleText = await example.innerText();
    for (const field of required)
      expect({ field, shown: exampleText.includes(`"${field}"`) }).toEqual({ field, shown: true });
    await operation.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(ARTIFACTS, 'swagger-post-jobs-example.png') });

    // The Schema tab: the model by name, with its properties.
    await requestBody
      .getByRole('tab', { name: 'Schema' })
      .or(requestBody.locator('[data-name="model"]'))
      .first()
      .click();
    const model = requestBody.locator('.model-box').first();
    await model.waitFor({ state: 'visible' });
    await expect(model.innerText()).resolves.toContain(schemaName);
    // Swagger UI (its JSON Schema 2020-12 view of an OpenAPI 3.1 document) stars the required properties: exactly
    // the schema's required list.
    const starred = await model
      .locator(
        'li.json-schema-2020-12-property--required > article[data-json-schema-level="1"] > ' +
          '.json-schema-2020-12-head .json-schema-2020-12__title',
      )
      .allInnerTexts();
    expect(starred.map((name) => name.replace('*', '').trim()).sort()).toEqual([...required].sort());
    await requestBody.screenshot({ path: join(ARTIFACTS, 'swagger-post-jobs-schema.png') });

    await context.close();
    expect(pageErrors).toEqual([]);
  });

  it('challenges a browser for basic auth at /admin/queues, and refuses a wrong password', async () => {
    // Without credentials: a 401 with a Basic challenge, which makes a browser prompt for them.
    // (Headless Chromium has no prompt to show, so the navigation itself ends in an auth error.)
    const anonymous = await newContext();
    const page = await newPage(anonymous);
    const challenge = page.waitForResponse((r) => new URL(r.url()).pathname === '/admin/queues');
    await page.goto(`${t.url}/admin/queues`).catch(() => undefined);
    const response = await challenge;
    expect(response.status()).toBe(401);
    expect(response.headers()['www-authenticate']).toMatch(/^Basic /);
    await anonymous.close();

    const wrong = await newContext({ httpCredentials: { username: 'ops', password: 'not-the-admin-key-0123456789' } });
    const wrongPage = await newPage(wrong);
    const answered = await wrongPage.goto(`${t.url}/admin/queues`).then(
      (r) => r?.status(),
      (error: Error) => error.message,
    );
    expect(String(answered)).toMatch(/^401$|ERR_INVALID_AUTH_CREDENTIALS/);
    await expect(wrongPage.locator('a[href*="/queue/"]').count()).resolves.toBe(0);
    await wrong.close();
  });

  it('renders Bull Board at /admin/queues with basic auth (admin key as password) and lists every queue', async () => {
    expect(QUEUE_NAMES).toEqual(expect.arrayContaining(['sync', 'poll', 'retry', 'cleanup', 'default']));
    const context = await newContext({ httpCredentials: { username: 'ops', password: TEST_ADMIN_KEY } });
    const page = await newPage(context);
    const response = await page.goto(`${t.url}/admin/queues`, { waitUntil: 'domcontentloaded' });
    expect(response?.status()).toBe(200);

    for (const name of QUEUE_NAMES) {
      const link = page
        .locator(`a[href$="/queue/${encodeURIComponent(name)}"], a[href*="/queue/${encodeURIComponent(name)}?"]`)
        .first();
      await link.waitFor({ state: 'visible', timeout: 20_000 });
      await expect(page.getByText(name, { exact: true }).first().isVisible()).resolves.toBe(true);
    }
    await page.screenshot({ path: join(ARTIFACTS, 'bull-board-queues.png'), fullPage: true });

    // One queue's page, reached by clicking as an operator would.
    await page
      .locator(`a[href$="/queue/${encodeURIComponent(QUEUE_NAMES[0])}"]`)
      .first()
      .click();
    await page.waitForURL(new RegExp(`/admin/queues/queue/${QUEUE_NAMES[0]}`));
    await page.getByText('Loading', { exact: false }).first().waitFor({ state: 'hidden', timeout: 20_000 });
    await page.screenshot({ path: join(ARTIFACTS, `bull-board-queue-${QUEUE_NAMES[0]}.png`) });

    await context.close();
    expect(pageErrors).toEqual([]);
  });

  it('renders Bull Board with its labels when opened with the credentials in the URL', async () => {
    // http://user:key@host/...: fetch() refuses URLs resolved against such a page, so Bull Board used to
    // miss its translations and show raw keys (MENU.QUEUES); the page now reloads itself without them.
    const context = await newContext();
    const page = await newPage(context);
    const locales = page.waitForResponse((r) => r.url().includes('/static/locales/'));
    const withCredentials = new URL(`${t.url}/admin/queues`);
    withCredentials.username = 'ops';
    withCredentials.password = TEST_ADMIN_KEY;
    await page.goto(withCredentials.toString(), { waitUntil: 'domcontentloaded' });
    for (const name of QUEUE_NAMES) {
      await page
        .locator(`a[href$="/queue/${encodeURIComponent(name)}"]`)
        .first()
        .waitFor({ state: 'visible', timeout: 20_000 });
    }
    expect((await locales).status()).toBe(200);
    const text = await page.locator('body').innerText();
    expect(text.match(/\b[A-Z][A-Z_]*\.[A-Z][A-Z_.]*\b/g) ?? []).toEqual([]);
    expect(new URL(page.url()).password).toBe('');
    await page.screenshot({ path: join(ARTIFACTS, 'bull-board-url-credentials.png'), fullPage: true });
    await context.close();
    expect(pageErrors).toEqual([]);
  });

  it('serves Bull Board through the API pipeline: a request id on every answer, no X-Powered-By', async () => {
    const context = await newContext({ httpCredentials: { username: 'ops', password: TEST_ADMIN_KEY } });
    const page = await newPage(context);
    const api = page.waitForResponse((r) => new URL(r.url()).pathname === '/admin/queues/api/queues');
    const response = await page.goto(`${t.url}/admin/queues`, { waitUntil: 'domcontentloaded' });
    for (const answer of [response!, await api]) {
      expect({ url: answer.url(), status: answer.status() }).toEqual({ url: answer.url(), status: 200 });
      expect(answer.headers()['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(answer.headers()['x-powered-by']).toBeUndefined();
    }
    await context.close();
  });

  it("refuses a cross-site form posting to Bull Board with the browser's cached basic auth, and takes the dashboard's own changes", async () => {
    const cleanup = t.app.get<Queue>(getQueueToken(QUEUE.cleanup));
    // Another site (another origin) with a form that adds a job to a queue the moment it is opened.
    const attacker = createServer((_, res) =>
      res
        .setHeader('content-type', 'text/html')
        .end(
          `<form id="f" method="POST" enctype="text/plain" action="${t.url}/admin/queues/api/queues/cleanup/add">` +
            `<input name='{"name":"csrf","data":{"x":"' value='"}}'></form>` +
            `<script>document.getElementById('f').submit()</script>`,
        ),
    );
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    const attackerHost = `localhost:${(attacker.address() as AddressInfo).port}`;
    try {
      const context = await newContext({ httpCredentials: { username: 'ops', password: TEST_ADMIN_KEY } }, [
        attackerHost,
      ]);
      const page = await newPage(context);
      // The admin has the dashboard open (the browser holds the credentials), then visits the other site.
      await page.goto(`${t.url}/admin/queues`, { waitUntil: 'domcontentloaded' });
      const posted = page.waitForResponse((r) => r.url().endsWith('/api/queues/cleanup/add') && r.status() !== 401);
      await page.goto(`http://${attackerHost}/`);
      const refused = await posted;
      expect(refused.status()).toBe(403);
      expect(refused.headers()['content-type']).toContain('application/problem+json');
      const jobs = await cleanup.getJobs(['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed']);
      expect(jobs.filter((j) => j.name === 'csrf')).toEqual([]);

      // The dashboard's own page may change things (its requests are same-origin).
      await page.goto(`${t.url}/admin/queues`, { waitUntil: 'domcontentloaded' });
      const statuses = await page.evaluate(async () => [
        (await fetch('api/queues/poll/pause', { method: 'PUT' })).status,
        (await fetch('api/queues/poll/resume', { method: 'PUT' })).status,
      ]);
      expect(statuses).toEqual([200, 200]);
      await context.close();
    } finally {
      await new Promise((resolve) => attacker.close(resolve));
    }
  });
});
