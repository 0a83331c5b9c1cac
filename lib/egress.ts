/**
 * The egress guard: the one gate for every URL a user supplies and a worker (or the API) fetches —
 * company websites (each page and each redirect hop), webhook targets, anything added later.
 *
 * A URL passes when it is http(s) and every address its host resolves to is a public unicast
 * address, or when its `host:port` (or a resolved `address:port`) is on the operator's allowlist
 * (`EGRESS_ALLOW`, how `npm start` and the tests reach their loopback stand-ins). The request is
 * then made to the address that was checked — the socket never asks DNS a second time, so a name
 * that answers a public address to the check and 127.0.0.1 to the connect (DNS rebinding) gets
 * nowhere. Redirects are not followed here: a caller that follows one sends the next hop through
 * the guard again.
 *
 * Operator-configured endpoints (the partner platform, the OpenAI-compatible API, SMTP) are not
 * user input and do not go through this guard.
 */
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { env } from './env';

/** Why an address (or URL) is refused; `message` of the error says it in words. */
export type EgressRefusal =
  | 'scheme'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'cgnat'
  | 'unique-local'
  | 'site-local'
  | 'multicast'
  | 'broadcast'
  | 'reserved';

const REFUSAL_WORDS: Record<EgressRefusal, string> = {
  scheme: 'not an http or https URL',
  unspecified: 'an unspecified address',
  loopback: 'a loopback address',
  private: 'a private (RFC 1918) address',
  'link-local': 'a link-local address',
  cgnat: 'a shared (CGNAT, RFC 6598) address',
  'unique-local': 'a unique-local IPv6 address',
  'site-local': 'a site-local IPv6 address',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
  reserved: 'a reserved address',
};

/** A refused destination. `name` is the step error type (`EgressBlocked`), never retried. */
export class EgressBlockedError extends Error {
  constructor(
    /** The host as the URL names it (normalised: `0x7f.1` is `127.0.0.1`). */
    readonly host: string,
    /** Why, as a stable word: `loopback`, `private`, `link-local`, ... */
    readonly reason: EgressRefusal,
    /** The refused address when the host is a name that resolved to it. */
    readonly address?: string,
    message?: string,
  ) {
    super(message ?? `${host} is ${REFUSAL_WORDS[reason]}`);
    this.name = 'EgressBlocked';
  }
}

export interface EgressAddress {
  address: string;
  family: number;
}

/** Resolves a host name to all its addresses (`dns.lookup` with `all: true` by default). */
export type EgressLookup = (hostname: string) => Promise<ReadonlyArray<EgressAddress>>;

export interface EgressPolicy {
  /** `host:port` entries (from EGRESS_ALLOW) that bypass the range check; IPv6 as `[::1]:4030`. */
  readonly allow: ReadonlyArray<string>;
  /** Name resolution; tests pass their own to prove one lookup per hop. */
  readonly lookup?: EgressLookup;
}

/** A URL that passed the guard and the addresses a request to it may connect to. */
export interface EgressTarget {
  url: URL;
  /** Host without IPv6 brackets. */
  host: string;
  port: number;
  addresses: ReadonlyArray<EgressAddress>;
}

const systemLookup: EgressLookup = async (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });

/** The policy of this process: EGRESS_ALLOW and the system resolver. */
export function egressPolicyFromEnv(): EgressPolicy {
  return { allow: env.EGRESS_ALLOW };
}

// ---- address ranges: one table per family, first match wins ---------------------------------

interface Range {
  base: bigint;
  prefix: number;
  reason: EgressRefusal;
}

const V4_RANGES = parseRanges(4, [
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'cgnat'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'], // 169.254.169.254: the cloud metadata service
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'reserved'], // IETF protocol assignments
  ['192.0.2.0/24', 'reserved'], // documentation
  ['192.88.99.0/24', 'reserved'], // 6to4 relay anycast
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'reserved'], // benchmarking
  ['198.51.100.0/24', 'reserved'], // documentation
  ['203.0.113.0/24', 'reserved'], // documentation
  ['224.0.0.0/4', 'multicast'],
  ['255.255.255.255/32', 'broadcast'],
  ['240.0.0.0/4', 'reserved'],
]);

/** Judged before the IPv4-embedding forms, which `::` and `::1` would otherwise fall into (`::/96`). */
const V6_SPECIAL = parseRanges(6, [
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
]);

const V6_RANGES = parseRanges(6, [
  ['64:ff9b:1::/48', 'reserved'], // local-use NAT64
  ['100::/64', 'reserved'], // discard-only
  ['2001::/32', 'reserved'], // Teredo: the client's IPv4 is hidden inside
  ['2001:db8::/32', 'reserved'], // documentation
  ['fc00::/7', 'unique-local'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'site-local'],
  ['ff00::/8', 'multicast'],
]);

/** IPv6 forms that carry an IPv4 address: judged as that IPv4 address. */
const V6_EMBEDDING_V4: ReadonlyArray<{ range: Range; kind: string; v4: (a: bigint) => bigint }> = [
  { range: parseRange(6, '::ffff:0:0/96'), kind: 'IPv4-mapped', v4: (a) => a & 0xffffffffn },
  { range: parseRange(6, '::/96'), kind: 'IPv4-compatible', v4: (a) => a & 0xffffffffn },
  { range: parseRange(6, '64:ff9b::/96'), kind: 'NAT64', v4: (a) => a & 0xffffffffn },
  { range: parseRange(6, '2002::/16'), kind: '6to4', v4: (a) => (a >> 80n) & 0xffffffffn },
];

const GLOBAL_UNICAST_V6 = parseRange(6, '2000::/3');

function parseRanges(family: 4 | 6, rows: ReadonlyArray<readonly [string, EgressRefusal]>): Range[] {
  return rows.map(([cidr, reason]) => parseRange(family, cidr, reason));
}

function parseRange(family: 4 | 6, cidr: string, reason: EgressRefusal = 'reserved'): Range {
  const [addr, prefix] = cidr.split('/');
  const base = family === 4 ? v4ToBigInt(addr!) : v6ToBigInt(addr!);
  if (base === undefined) throw new Error(`bad range ${cidr}`);
  return { base, prefix: Number(prefix), reason };
}

function inRange(a: bigint, bits: number, r: Range): boolean {
  const shift = BigInt(bits - r.prefix);
  return a >> shift === r.base >> shift;
}

function v4ToBigInt(text: string): bigint | undefined {
  if (net.isIPv4(text) === false) return undefined;
  return text.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function v6ToBigInt(text: string): bigint | undefined {
  let s = text.replace(/%.*$/, '');
  if (!net.isIPv6(s)) return undefined;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    const v4 = Number(v4ToBigInt(dotted[1]!));
    s = `${s.slice(0, dotted.index)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups =
    tail === undefined
      ? headGroups
      : [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function bigIntToV4(a: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => Number((a >> s) & 0xffn)).join('.');
}

/** Why an IP address may not be reached, or undefined when it is a public unicast address. */
export function classifyAddress(address: string): { reason: EgressRefusal; detail?: string } | undefined {
  const v4 = v4ToBigInt(address);
  if (v4 !== undefined) {
    const hit = V4_RANGES.find((r) => inRange(v4, 32, r));
    return hit ? { reason: hit.reason } : undefined;
  }
  const v6 = v6ToBigInt(address);
  if (v6 === undefined) return { reason: 'reserved', detail: 'not an IP address' };
  const hit = V6_SPECIAL.find((r) => inRange(v6, 128, r));
  if (hit) return { reason: hit.reason };
  for (const e of V6_EMBEDDING_V4) {
    if (!inRange(v6, 128, e.range)) continue;
    const inner = bigIntToV4(e.v4(v6));
    const judged = classifyAddress(inner);
    if (judged) return { reason: judged.reason, detail: `${e.kind} form of ${inner}` };
    // deprecated (RFC 4291 2.5.5.1) and not routed: nothing legitimate is served there
    return e.kind === 'IPv4-compatible' ? { reason: 'reserved', detail: `${e.kind} form of ${inner}` } : undefined;
  }
  const rest = V6_RANGES.find((r) => inRange(v6, 128, r));
  if (rest) return { reason: rest.reason };
  return inRange(v6, 128, GLOBAL_UNICAST_V6) ? undefined : { reason: 'reserved' };
}

// ---- the check -------------------------------------------------------------------------------

function hostKey(host: string, port: number): string {
  return `${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
}

/** Normalises an allowlist entry the way a URL's host is normalised (`0x7f.1:80` is `127.0.0.1:80`). */
export function normaliseAllowEntry(entry: string): string {
  const m = /^(.+):(\d{1,5})$/.exec(entry.trim());
  if (!m || Number(m[2]) > 65_535) throw new Error(`EGRESS_ALLOW entry ${JSON.stringify(entry)} is not host:port`);
  const host = new URL(`http://${m[1]}/`).hostname.replace(/^\[|\]$/g, '');
  return hostKey(host, Number(m[2]));
}

const allowSets = new WeakMap<ReadonlyArray<string>, ReadonlySet<string>>();
function allowSet(policy: EgressPolicy): ReadonlySet<string> {
  let set = allowSets.get(policy.allow);
  if (!set) {
    set = new Set(policy.allow.map(normaliseAllowEntry));
    allowSets.set(policy.allow, set);
  }
  return set;
}

/**
 * Resolves the URL's host once and checks every address it answers. Rejects with
 * EgressBlockedError when one is refused, with the resolver's error when the name does not resolve.
 */
export async function resolveEgress(input: string | URL, policy: EgressPolicy): Promise<EgressTarget> {
  const url = new URL(input);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new EgressBlockedError(host || url.href.slice(0, 100), 'scheme');
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const allow = allowSet(policy);
  const hostAllowed = allow.has(hostKey(host, port));
  const family = net.isIP(host);
  const addresses = family ? [{ address: host, family }] : await (policy.lookup ?? systemLookup)(host);
  if (addresses.length === 0) throw Object.assign(new Error(`${host} has no address`), { code: 'ENOTFOUND' });
  if (!hostAllowed) {
    for (const a of addresses) {
      if (allow.has(hostKey(a.address, port))) continue;
      const refused = classifyAddress(a.address);
      if (!refused) continue;
      const what = `${REFUSAL_WORDS[refused.reason]}${refused.detail ? ` (${refused.detail})` : ''}`;
      const message = family ? `${host} is ${what}` : `${host} resolves to ${a.address}, ${what}`;
      throw new EgressBlockedError(host, refused.reason, family ? undefined : a.address, message);
    }
  }
  return { url, host, port, addresses: addresses.map((a) => ({ address: a.address, family: a.family })) };
}

/** The guard's verdict alone (e.g. to refuse a webhook URL when it is saved). */
export async function checkEgress(url: string | URL, policy: EgressPolicy): Promise<void> {
  await resolveEgress(url, policy);
}

// ---- the request -----------------------------------------------------------------------------

export interface EgressRequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  signal?: AbortSignal;
}

export interface EgressResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body as it arrives (not decompressed); the caller reads it or destroys it. */
  body: http.IncomingMessage;
  /** The checked address the socket went to. */
  remoteAddress?: string;
  url: URL;
}

/** A `lookup` for the socket that answers the checked addresses instead of asking DNS again. */
function pinnedLookup(addresses: ReadonlyArray<EgressAddress>): net.LookupFunction {
  return ((_hostname: string, options: dns.LookupOptions, callback: (...args: unknown[]) => void) => {
    if (options.all)
      return callback(
        null,
        addresses.map((a) => ({ ...a })),
      );
    const pick = addresses.find((a) => !options.family || a.family === options.family) ?? addresses[0]!;
    callback(null, pick.address, pick.family);
  }) as unknown as net.LookupFunction;
}

/**
 * One HTTP request (no redirects followed) to a URL that passed the guard, over a socket pinned
 * to the checked addresses. TLS still verifies the certificate against the host name.
 */
export async function egressRequest(
  input: string | URL,
  policy: EgressPolicy,
  init: EgressRequestInit = {},
): Promise<EgressResponse> {
  const target = await resolveEgress(input, policy);
  init.signal?.throwIfAborted();
  const client = target.url.protocol === 'https:' ? https : http;
  const headers = { ...init.headers };
  // a length rather than chunked encoding: some receivers refuse chunked POSTs
  if (init.body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length'))
    headers['content-length'] = String(Buffer.byteLength(init.body));
  return new Promise<EgressResponse>((resolve, reject) => {
    const req = client.request(
      target.url,
      {
        method: init.method ?? 'GET',
        headers,
        signal: init.signal,
        agent: false,
        lookup: pinnedLookup(target.addresses),
      },
      (res) =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: res,
          remoteAddress: res.socket.remoteAddress,
          url: target.url,
        }),
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/** Reads and discards a response body (the receiver's answer is not needed, only its status). */
export async function discardBody(res: EgressResponse): Promise<void> {
  try {
    for await (const _chunk of res.body);
  } catch {
    // an aborted or broken body changes nothing once the status is known
  }
}
