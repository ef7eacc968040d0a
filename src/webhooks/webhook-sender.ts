import { lookup as dnsLookup, LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, LookupFunction } from 'node:net';

import { Injectable, OnModuleDestroy } from '@nestjs/common';

import { AppConfig } from '../config/app-config';
import { PrivateAddressError, hostAddress, isPublicAddress } from './webhook-address';

/** How one attempt ended, as `webhook_deliveries_total{outcome}` counts it. */
export type AttemptOutcome = 'success' | 'http_error' | 'gone' | 'timeout' | 'network_error' | 'refused';

export interface AttemptResult {
  outcome: AttemptOutcome;
  httpStatus: number | null;
  durationMs: number;
  error: string | null;
}

// The receiver's answer is read only this far: its status is what counts.
const MAX_RESPONSE_BYTES = 64 * 1024;

class AttemptTimeout extends Error {}

/**
 * Resolves like dns.lookup, but refuses a name when any of its addresses is not public: the check happens on the
 * address the socket connects to, so a name that resolved outside when the endpoint was saved and inside now (DNS
 * rebinding) gets nowhere.
 */
const publicOnlyLookup = ((hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
    if (error) return callback(error, '', 0);
    const inside = addresses.find((a) => !isPublicAddress(a.address));
    if (inside) return callback(new PrivateAddressError(`${hostname} (${inside.address})`), '', 0);
    if ((options as { all?: boolean }).all) return (callback as (e: null, a: LookupAddress[]) => void)(null, addresses);
    callback(null, addresses[0].address, addresses[0].family);
  });
}) as LookupFunction;

/**
 * POSTs one signed webhook: no redirect is followed, the answer is read up to a small cap, the whole attempt is
 * bounded by WEBHOOK_TIMEOUT_MS, and (unless WEBHOOK_ALLOW_PRIVATE_URLS) only public addresses are reached.
 */
@Injectable()
export class WebhookSender implements OnModuleDestroy {
  // Keep-alive: a busy endpoint gets its deliveries over a few reused connections.
  private readonly agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: 64 }),
    'https:': new https.Agent({ keepAlive: true, maxSockets: 64 }),
  };

  constructor(private readonly config: AppConfig) {}

  onModuleDestroy(): void {
    this.agents['http:'].destroy();
    this.agents['https:'].destroy();
  }

  async send(params: { url: string; body: string; headers: Record<string, string> }): Promise<AttemptResult> {
    const started = Date.now();
    const result = (outcome: AttemptOutcome, httpStatus: number | null, error: string | null): AttemptResult => ({
      outcome,
      httpStatus,
      durationMs: Date.now() - started,
      error,
    });
    const url = new URL(params.url);
    const allowPrivate = this.config.webhooks.allowPrivateUrls;
    // A literal address is never looked up, so it is checked here.
    if (!allowPrivate && isIP(hostAddress(url)) && !isPublicAddress(hostAddress(url))) {
      return result('refused', null, new PrivateAddressError(hostAddress(url)).message);
    }
    try {
      const status = await this.post(url, params, allowPrivate);
      if (status >= 200 && status < 300) return result('success', status, null);
      if (status === 410) return result('gone', status, 'the receiver answered 410 Gone');
      if (status >= 300 && status < 400) return result('http_error', status, `redirect (HTTP ${status}) not followed`);
      return result('http_error', status, `HTTP ${status}`);
    } catch (error) {
      if (error instanceof AttemptTimeout) {
        return result('timeout', null, `no answer within ${this.config.webhooks.timeoutMs} ms`);
      }
      if (error instanceof PrivateAddressError) return result('refused', null, error.message);
      const e = error as NodeJS.ErrnoException;
      return result('network_error', null, e.code ? `${e.code}: ${e.message}` : e.message);
    }
  }

  private post(
    url: URL,
    params: { body: string; headers: Record<string, string> },
    allowPrivate: boolean,
  ): Promise<number> {
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise<number>((resolve, reject) => {
      const request = transport.request(url, {
        method: 'POST',
        agent: this.agents[url.protocol as 'http:' | 'https:'],
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(params.body),
          'user-agent': 'TradeEngage-Webhooks/1.0',
          ...params.headers,
        },
        ...(allowPrivate ? {} : { lookup: publicOnlyLookup }),
      });
      const timer = setTimeout(() => request.destroy(new AttemptTimeout()), this.config.webhooks.timeoutMs);
      request.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      request.once('response', (response) => {
        clearTimeout(timer);
        resolve(response.statusCode ?? 0);
        // The status decides; the body is drained (so the connection can be reused) up to the cap, then dropped.
        let read = 0;
        response.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_RESPONSE_BYTES) response.destroy();
        });
        response.on('error', () => undefined);
        const drainTimer = setTimeout(() => response.destroy(), this.config.webhooks.timeoutMs);
        response.once('close', () => clearTimeout(drainTimer));
      });
      request.end(params.body);
    });
  }
}
