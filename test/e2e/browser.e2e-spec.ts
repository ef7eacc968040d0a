import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { Browser, BrowserContext, Page, chromium } from 'playwright-core';

import { QUEUE_NAMES } from '../../src/queue/queues';
import { TestApp, startTestApp } from '../helpers/app';
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
    t = await startTestApp({}, 'all');
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  /** A context that can reach only the app under test (no fonts or CDNs from the internet). */
  async function newContext(options: Parameters<Browser['newContext']>[0] = {}): Promise<BrowserContext> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
    await context.route('**/*', (route) =>
      new URL(route.request().url()).host === new URL(t.url).host ? route.continue() : route.abort(),
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
});
