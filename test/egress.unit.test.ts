/**
 * The egress guard (lib/egress.ts) on its own and through fetchPage: every refused range, the
 * literal forms the URL parser turns into them, names that resolve to them, the allowlist letting
 * exactly one host:port through, and one lookup per hop with the socket on the checked address.
 * The "internal service" is a real HTTP server on loopback (both 127.0.0.1 and ::1).
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { toStepFailure } from '../activities/steps';
import {
  classifyAddress,
  egressRequest,
  normaliseAllowEntry,
  type EgressAddress,
  type EgressPolicy,
} from '../lib/egress';
import { parseEnv } from '../lib/env';
import { fetchPage, type FetchPageOptions } from '../pipelines/company-enrichment/fetch-page';

const SECRET = 'internal_only_metric 42';
let internal: http.Server;
let other: http.Server;
let port: number;
let otherPort: number;
const seen: Array<{ host: string | undefined; path: string | undefined; remote: string | undefined }> = [];

function listen(server: http.Server, host: string): Promise<number> {
  return new Promise((resolve) => server.listen(0, host, () => resolve((server.address() as AddressInfo).port)));
}

beforeAll(async () => {
  internal = http.createServer((req, res) => {
    seen.push({ host: req.headers.host, path: req.url, remote: req.socket.remoteAddress });
    const hop = /^\/hop\/(\d+)$/.exec(req.url ?? '');
    if (hop && Number(hop[1]) > 0) return res.writeHead(302, { Location: `/hop/${Number(hop[1]) - 1}` }).end();
    if (req.url?.startsWith('/to?'))
      return res.writeHead(302, { Location: new URL(req.url, 'http://x').searchParams.get('url')! }).end();
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(SECRET);
  });
  // `::` with dual stack: reachable as 127.0.0.1, ::1, ::ffff:127.0.0.1, 0.0.0.0 and localhost alike.
  port = await listen(internal, '::');
  other = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(SECRET));
  otherPort = await listen(other, '127.0.0.1');
});

afterAll(async () => {
  await new Promise((r) => internal?.close(r));
  await new Promise((r) => other?.close(r));
});

const strict: EgressPolicy = { allow: [] };
const get = (url: string, opts: Partial<FetchPageOptions> = {}) =>
  fetchPage(url, { egress: strict, timeoutMs: 500, ...opts });

async function failureOf(
  p: Promise<unknown>,
): Promise<Error & { errorType?: string; details?: Record<string, unknown> }> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure, the request went through');
}

describe('every refused range, through fetchPage (a non-retryable EgressBlocked naming host and reason)', () => {
  const P = () => port;
  test.each<[string, () => string, RegExp, string]>([
    ['loopback', () => `http://127.0.0.1:${P()}/metrics`, /^127\.0\.0\.1 is a loopback address$/, 'loopback'],
    ['loopback, 127/8 beyond .1', () => `http://127.1.2.3:${P()}/`, /^127\.1\.2\.3 is a loopback address$/, 'loopback'],
    ['hex IPv4 0x7f.1', () => `http://0x7f.1:${P()}/`, /^127\.0\.0\.1 is a loopback address$/, 'loopback'],
    ['decimal IPv4 2130706433', () => `http://2130706433:${P()}/`, /^127\.0\.0\.1 is a loopback address$/, 'loopback'],
    ['octal IPv4 0177.0.0.1', () => `http://0177.0.0.1:${P()}/`, /^127\.0\.0\.1 is a loopback address$/, 'loopback'],
    ['IPv6 loopback [::1]', () => `http://[::1]:${P()}/`, /^::1 is a loopback address$/, 'loopback'],
    [
      'IPv4-mapped ::ffff:127.0.0.1',
      () => `http://[::ffff:127.0.0.1]:${P()}/`,
      /^::ffff:7f00:1 is a loopback address \(IPv4-mapped form of 127\.0\.0\.1\)$/,
      'loopback',
    ],
    [
      'a name resolving to loopback (localhost)',
      () => `http://localhost:${P()}/`,
      /^localhost resolves to (127\.0\.0\.1|::1), a loopback address$/,
      'loopback',
    ],
    ['unspecified 0.0.0.0', () => `http://0.0.0.0:${P()}/`, /^0\.0\.0\.0 is an unspecified address$/, 'unspecified'],
    ['unspecified [::]', () => `http://[::]:${P()}/`, /^:: is an unspecified address$/, 'unspecified'],
    [
      'cloud metadata 169.254.169.254',
      () => 'http://169.254.169.254/latest/meta-data/',
      /^169\.254\.169\.254 is a link-local address$/,
      'link-local',
    ],
    ['link-local IPv6', () => 'http://[fe80::1]/', /^fe80::1 is a link-local address$/, 'link-local'],
    ['RFC 1918 10/8', () => 'http://10.0.0.1/', /^10\.0\.0\.1 is a private \(RFC 1918\) address$/, 'private'],
    ['RFC 1918 172.16/12', () => 'http://172.31.255.1/', /private/, 'private'],
    ['RFC 1918 192.168/16', () => 'http://192.168.1.1/', /private/, 'private'],
    [
      'CGNAT 100.64/10',
      () => 'http://100.127.0.1/',
      /^100\.127\.0\.1 is a shared \(CGNAT, RFC 6598\) address$/,
      'cgnat',
    ],
    [
      'unique-local fc00::/7',
      () => 'http://[fd12:3456::1]/',
      /^fd12:3456::1 is a unique-local IPv6 address$/,
      'unique-local',
    ],
    ['multicast 224/4', () => 'http://239.1.2.3/', /multicast/, 'multicast'],
    ['multicast ff00::/8', () => 'http://[ff02::1]/', /multicast/, 'multicast'],
    ['broadcast', () => 'http://255.255.255.255/', /broadcast/, 'broadcast'],
    ['reserved 240/4', () => 'http://240.0.0.1/', /reserved/, 'reserved'],
    ['NAT64 of loopback', () => `http://[64:ff9b::7f00:1]:${P()}/`, /NAT64 form of 127\.0\.0\.1/, 'loopback'],
    [
      '6to4 of the metadata address',
      () => 'http://[2002:a9fe:a9fe::1]/',
      /6to4 form of 169\.254\.169\.254/,
      'link-local',
    ],
    ['IPv4-mapped private', () => 'http://[::ffff:10.1.2.3]/', /IPv4-mapped form of 10\.1\.2\.3/, 'private'],
  ])('%s', async (_what, url, message, reason) => {
    const before = seen.length;
    const err = await failureOf(get(url()));
    expect(err).toMatchObject({
      errorType: 'EgressBlocked',
      message: expect.stringMatching(message),
      details: expect.objectContaining({ reason }),
    });
    expect(toStepFailure(err, 1)).toMatchObject({ type: 'EgressBlocked', nonRetryable: true });
    expect(seen.length).toBe(before);
  });

  test('a name is judged by every address it resolves to, not the first', async () => {
    const lookup = async (): Promise<EgressAddress[]> => [
      { address: '93.184.216.34', family: 4 },
      { address: '10.0.0.5', family: 4 },
    ];
    const err = await failureOf(get('http://intranet.example/', { egress: { allow: [], lookup } }));
    expect(err).toMatchObject({
      errorType: 'EgressBlocked',
      message: 'intranet.example resolves to 10.0.0.5, a private (RFC 1918) address',
    });
  });

  test('a redirect to a refused address is refused at that hop', async () => {
    const policy = { allow: [`127.0.0.1:${port}`] };
    const err = await failureOf(
      get(`http://127.0.0.1:${port}/to?url=${encodeURIComponent('http://169.254.169.254/latest/meta-data/')}`, {
        egress: policy,
      }),
    );
    expect(err).toMatchObject({ errorType: 'EgressBlocked', message: '169.254.169.254 is a link-local address' });
    expect(seen.at(-1)?.path).toMatch(/^\/to\?/);
  });
});

describe('the allowlist', () => {
  test('lets exactly the listed host:port through: not another port on the same host, not another spelling of loopback', async () => {
    const policy: EgressPolicy = { allow: [`127.0.0.1:${port}`] };
    const page = await get(`http://127.0.0.1:${port}/metrics`, { egress: policy });
    expect(page.html).toBe(SECRET);
    // The URL parser's spellings of the same address are the same entry.
    expect((await get(`http://0x7f.1:${port}/`, { egress: policy })).html).toBe(SECRET);
    await expect(get(`http://127.0.0.1:${otherPort}/`, { egress: policy })).rejects.toMatchObject({
      errorType: 'EgressBlocked',
      message: '127.0.0.1 is a loopback address',
    });
    await expect(get(`http://[::1]:${port}/`, { egress: policy })).rejects.toMatchObject({
      errorType: 'EgressBlocked',
      message: '::1 is a loopback address',
    });
  });

  test('EGRESS_ALLOW is parsed from the environment as host:port entries', () => {
    expect(parseEnv({ EGRESS_ALLOW: '127.0.0.1:4030, [::1]:4031,sites.internal:8080' }).EGRESS_ALLOW).toEqual([
      '127.0.0.1:4030',
      '[::1]:4031',
      'sites.internal:8080',
    ]);
    expect(parseEnv({}).EGRESS_ALLOW).toEqual([]);
    expect(() => parseEnv({ EGRESS_ALLOW: '127.0.0.1' })).toThrow(/EGRESS_ALLOW/);
    expect(() => parseEnv({ EGRESS_ALLOW: 'http://127.0.0.1:4030' })).toThrow(/EGRESS_ALLOW/);
    expect(normaliseAllowEntry('0x7f.1:80')).toBe('127.0.0.1:80');
    expect(normaliseAllowEntry('[0:0::1]:4030')).toBe('[::1]:4030');
    expect(normaliseAllowEntry('Sites.Internal:8080')).toBe('sites.internal:8080');
  });
});

describe('no second lookup (no DNS rebinding)', () => {
  test('one lookup per hop, and each hop connects to the address that was checked', async () => {
    const asked: string[] = [];
    // First answer: the allowed stand-in. Any later answer would be the metadata service. A name
    // under .invalid never resolves in real DNS, so a socket that asked the system resolver again
    // would fail outright.
    const lookup = async (host: string): Promise<EgressAddress[]> => {
      asked.push(host);
      return asked.length <= 3 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '169.254.169.254', family: 4 }];
    };
    const before = seen.length;
    const page = await get(`http://pinned.invalid:${port}/hop/2`, { egress: { allow: [`127.0.0.1:${port}`], lookup } });
    expect(page).toMatchObject({ html: SECRET, redirects: 2, finalUrl: `http://pinned.invalid:${port}/hop/0` });
    expect(asked).toEqual(['pinned.invalid', 'pinned.invalid', 'pinned.invalid']);
    const hops = seen.slice(before);
    expect(hops.map((h) => h.path)).toEqual(['/hop/2', '/hop/1', '/hop/0']);
    expect(
      hops.every((h) => h.host === `pinned.invalid:${port}` && /^(::ffff:)?127\.0\.0\.1$/.test(h.remote ?? '')),
    ).toBe(true);
  });

  test('egressRequest reports the checked address its socket went to', async () => {
    let calls = 0;
    const lookup = async (): Promise<EgressAddress[]> => {
      calls++;
      return [{ address: '127.0.0.1', family: 4 }];
    };
    const res = await egressRequest(`http://rebind.invalid:${port}/x`, { allow: [`127.0.0.1:${port}`], lookup });
    res.body.resume();
    expect({ status: res.status, remoteAddress: res.remoteAddress, calls }).toEqual({
      status: 200,
      remoteAddress: '127.0.0.1',
      calls: 1,
    });
  });
});

/** A self-signed certificate for pinned.invalid (valid until 2126): TLS must still be checked against the name. */
const TLS_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg2JItginSypH7n92D
Zj4bBjvLI6320jdBLBiE66IIeaahRANCAARG3XFjtknK9wUQ37WSFZ6MxGwc+h7b
Mor3CFiY05zSs28CH6/Xhlbqn7clrMKNE637jHELdFAI7vE7Zk1V6/tF
-----END PRIVATE KEY-----`;
const TLS_CERT = `-----BEGIN CERTIFICATE-----
MIIBpDCCAUqgAwIBAgIUbVKtfhKknv/t8NRY++NGughCPFgwCgYIKoZIzj0EAwIw
GTEXMBUGA1UEAwwOcGlubmVkLmludmFsaWQwIBcNMjYxMjAxMjIxMTEzWhgPMjEy
NjExMDcyMjExMTNaMBkxFzAVBgNVBAMMDnBpbm5lZC5pbnZhbGlkMFkwEwYHKoZI
zj0CAQYIKoZIzj0DAQcDQgAERt1xY7ZJyvcFEN+1khWejMRsHPoe2zKK9whYmNOc
0rNvAh+v14ZW6p+3JazCjROt+4xxC3RQCO7xO2ZNVev7RaNuMGwwHQYDVR0OBBYE
FL/a2cA4RWLa8LqnH2kqagnKPsVPMB8GA1UdIwQYMBaAFL/a2cA4RWLa8LqnH2kq
agnKPsVPMA8GA1UdEwEB/wQFMAMBAf8wGQYDVR0RBBIwEIIOcGlubmVkLmludmFs
aWQwCgYIKoZIzj0EAwIDSAAwRQIhAIs24m19Pjcu0IjDqRVj5kb0NQWXKbYQg56X
CHTLRNr1AiAlcXp/XMgiV/xj/vDedZoHymOoTVRcR/qk8voBgIH6GA==
-----END CERTIFICATE-----`;

test('https: the socket goes to the pinned address, SNI and certificate checks stay on the host name', async () => {
  const sni: string[] = [];
  const tls = https.createServer(
    { key: TLS_KEY, cert: TLS_CERT, SNICallback: (name, cb) => (sni.push(name), cb(null)) },
    (_req, res) => res.end('secret'),
  );
  const tlsPort = await listen(tls, '127.0.0.1');
  try {
    let calls = 0;
    const lookup = async (): Promise<EgressAddress[]> => {
      calls++;
      return [{ address: '127.0.0.1', family: 4 }];
    };
    // Self-signed: refused by verification, which would not happen if TLS were skipped or named the IP.
    await expect(
      egressRequest(`https://pinned.invalid:${tlsPort}/`, { allow: [`127.0.0.1:${tlsPort}`], lookup }),
    ).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    expect({ sni, calls }).toEqual({ sni: ['pinned.invalid'], calls: 1 });
  } finally {
    await new Promise((r) => tls.close(r));
  }
});

describe('the range table', () => {
  test.each([
    ['0.1.2.3', 'unspecified'],
    ['127.255.255.255', 'loopback'],
    ['10.255.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.255.255', 'private'],
    ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'cgnat'],
    ['224.0.0.251', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['250.1.1.1', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::127.0.0.1', 'loopback'],
    ['::8.8.8.8', 'reserved'],
    ['fc00::1', 'unique-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['fec0::1', 'site-local'],
    ['ff05::2', 'multicast'],
    ['2001:db8::1', 'reserved'],
    ['2001:0:4136:e378::1', 'reserved'],
    ['4000::1', 'reserved'],
  ])('%s is refused as %s', (address, reason) => {
    expect(classifyAddress(address)?.reason).toBe(reason);
  });

  test.each([
    '8.8.8.8',
    '1.1.1.1',
    '172.32.0.1',
    '100.128.0.1',
    '169.255.0.1',
    '::ffff:8.8.8.8',
    '2606:4700:4700::1111',
    '2a00:1450:4001::200e',
  ])('%s is public', (address) => {
    expect(classifyAddress(address)).toBeUndefined();
  });
});
