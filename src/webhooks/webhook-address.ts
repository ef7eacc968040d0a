import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

// Where an outbound webhook must not go unless WEBHOOK_ALLOW_PRIVATE_URLS: loopback, private and link-local networks
// (cloud metadata lives at 169.254.169.254), carrier-grade NAT, and addresses that are not unicast on the internet.
const NOT_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv4');
}
// IPv4-mapped addresses (::ffff:a.b.c.d) are checked against the IPv4 rules above by BlockList itself.
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv6');
}

/** True for an address on the public internet; false for loopback, private, link-local and reserved ones. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return !NOT_PUBLIC.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** A URL host as an address: `[::1]` → `::1`. */
export function hostAddress(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

export class PrivateAddressError extends Error {
  constructor(readonly host: string) {
    super(`${host} is a loopback, private or reserved address`);
    this.name = 'PrivateAddressError';
  }
}

/**
 * Checks where a URL's host points, when private addresses are not allowed: every address it resolves to must be
 * public. Returns an error message for the `url` field, or null when the URL may be used. The sender checks the
 * address it connects to again, so a name that later resolves inside (DNS rebinding) is still refused.
 */
export async function checkWebhookHost(url: URL, timeoutMs = 3000): Promise<string | null> {
  const host = hostAddress(url);
  if (isIP(host)) return isPublicAddress(host) ? null : 'must not point to a loopback, private or reserved address';
  let addresses: { address: string }[];
  try {
    addresses = await Promise.race([
      lookup(host, { all: true, verbatim: true }),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), timeoutMs).unref()),
    ]);
  } catch {
    return 'host could not be resolved';
  }
  if (!addresses.length) return 'host could not be resolved';
  if (addresses.some((a) => !isPublicAddress(a.address))) {
    return 'must not point to a loopback, private or reserved address';
  }
  return null;
}
