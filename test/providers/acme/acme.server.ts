import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * "Acme FSM", a field-service API that exists only in the tests: leads created with a reference, read back by
 * reference or by ids, authenticated by an `X-Api-Token` header. Small on purpose: it proves the provider seam,
 * not a vendor.
 */
export interface AcmeLead {
  id: string;
  reference: string;
  customer: string;
  state: 'open' | 'booked' | 'done' | 'dropped';
  doneAt: string | null;
  amountCents: number | null;
}

export class AcmeServer {
  readonly leads: AcmeLead[] = [];
  readonly calls: { method: string; path: string; token: string | undefined }[] = [];
  private server?: Server;
  url = '';

  constructor(private readonly tokens: Set<string>) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  finish(reference: string, amountCents: number): void {
    const lead = this.leads.find((l) => l.reference === reference)!;
    Object.assign(lead, { state: 'done', doneAt: new Date().toISOString(), amountCents });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const token = req.headers['x-api-token'] as string | undefined;
    this.calls.push({ method: req.method ?? '', path: url.pathname + url.search, token });
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (!token || !this.tokens.has(token)) return send(401, { message: 'bad token' });
    if (req.method === 'POST' && url.pathname === '/leads') {
      let text = '';
      for await (const chunk of req) text += String(chunk);
      const input = JSON.parse(text) as { reference: string; customer: string };
      const lead: AcmeLead = {
        id: `L${this.leads.length + 1}`,
        reference: input.reference,
        customer: input.customer,
        state: 'open',
        doneAt: null,
        amountCents: null,
      };
      this.leads.push(lead);
      return send(201, lead);
    }
    if (req.method === 'GET' && url.pathname === '/leads') {
      const reference = url.searchParams.get('reference');
      const ids = url.searchParams.get('ids')?.split(',');
      const leads = this.leads.filter((l) => (reference ? l.reference === reference : ids?.includes(l.id)));
      return send(200, { leads });
    }
    send(404, { message: 'no such route' });
  }
}
