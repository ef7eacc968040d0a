import { createNetwork, jobBody } from '../factories/network.factory';
import { flushTestRedis, startTestApp } from '../helpers/app';
import { apiClient } from '../helpers/http';
import { TEST_ADMIN_KEY } from '../test-env';

// Nest closes the HTTP server (waiting for requests in flight) before the shutdown hooks close the
// database and Redis connections; this guards that order.
describe('API shutdown', () => {
  it('finishes requests in flight before closing the database, and refuses new connections', async () => {
    await flushTestRedis();
    const t = await startTestApp({ API_RATE_LIMIT_PER_MINUTE: '100000' }, 'api');
    const admin = apiClient(t.url, TEST_ADMIN_KEY);
    const { referrer, technician, targets } = await createNetwork(admin, 3);
    const body = jobBody(referrer.id, technician.id, { targetCompanyIds: targets.map((c) => c.id) });
    const server = t.app.getHttpServer() as import('node:http').Server;
    const connections = () => new Promise<number>((resolve) => server.getConnections((_, n) => resolve(n)));
    const inFlight = Array.from({ length: 30 }, () =>
      admin.post('/api/jobs', body).catch((error: Error) => ({ status: error.message })),
    );
    // Shut down once the server holds connections with requests being worked on.
    while ((await connections()) < 10) await new Promise((r) => setTimeout(r, 1));
    const closing = t.close();
    const statuses = (await Promise.all(inFlight)).map((r) => r.status);
    await closing;
    // Accepted requests complete (never a 500 from a database closed under them); later ones are refused.
    expect(statuses.filter((s) => s !== 201 && s !== 'fetch failed')).toEqual([]);
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(5);
    await expect(fetch(`${t.url}/api/health/live`)).rejects.toThrow();
  });
});
