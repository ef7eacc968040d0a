import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { AddressInfo, Socket } from 'node:net';

/** One request the receiver got. */
export interface ReceivedWebhook {
  path: string;
  /** `webhook-id`, `webhook-timestamp`, `webhook-signature` and the rest, lower-case. */
  headers: Record<string, string>;
  id: string;
  body: string;
  json: any;
  /** Date.now() when the body had arrived. */
  at: number;
  /** How many requests with this webhook-id came before this one (0: the first). */
  nth: number;
  /** What the receiver answered: a status, or `hang` (no answer). */
  answered?: number | 'hang';
}

/** What to answer: a status (default 204) after an optional delay, or no answer at all (`hang`). */
export interface ReceiverAnswer {
  status?: number;
  delayMs?: number;
  hang?: boolean;
}

/**
 * A real HTTP server that receives outbound webhooks on 127.0.0.1, records every request and answers as `answer`
 * decides (per request, knowing how many times that webhook-id came before).
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  answer: (request: ReceivedWebhook) => ReceiverAnswer = () => ({ status: 204 });
  private readonly seen = new Map<string, number>();
  private readonly sockets = new Set<Socket>();
  private readonly waiters: (() => void)[] = [];

  private constructor(private readonly server: Server) {}

  static async start(port = 0): Promise<WebhookReceiver> {
    const server = createServer();
    const receiver = new WebhookReceiver(server);
    server.on('request', (req, res) => receiver.handle(req, res));
    server.on('connection', (socket) => {
      receiver.sockets.add(socket);
      socket.once('close', () => receiver.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return receiver;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  url(path = '/hooks'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  of(id: string): ReceivedWebhook[] {
    return this.received.filter((r) => r.id === id);
  }

  ofType(type: string, path?: string): ReceivedWebhook[] {
    return this.received.filter((r) => r.json?.type === type && (path === undefined || r.path === path));
  }

  /** Resolves when `check` holds over what was received (checked on every request), or rejects after timeoutMs. */
  async waitFor(check: (received: ReceivedWebhook[]) => boolean, timeoutMs = 15_000, what = 'webhooks'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check(this.received)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Timed out waiting for ${what}; received ${this.received.length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  clear(): void {
    this.received.length = 0;
    this.seen.clear();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]),
      );
      const id = headers['webhook-id'] ?? '';
      const nth = this.seen.get(id) ?? 0;
      this.seen.set(id, nth + 1);
      let json: unknown = null;
      try {
        json = JSON.parse(body);
      } catch {
        // recorded as text
      }
      const request: ReceivedWebhook = { path: req.url ?? '', headers, id, body, json, at: Date.now(), nth };
      this.received.push(request);
      for (const wake of this.waiters.splice(0)) wake();
      const answer = this.answer(request);
      request.answered = answer.hang ? 'hang' : (answer.status ?? 204);
      if (answer.hang) return;
      const send = () => {
        if (!res.destroyed) res.writeHead(answer.status ?? 204).end();
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs);
      else send();
    });
  }
}
