/**
 * STAND-IN for company websites. It is NOT the web and NOT part of the Flotilla engine: the
 * real web is unreachable here, so the company-enrichment pipeline, its tests and `npm start`
 * fetch these pages over real HTTP on loopback instead.
 *
 * Per company of ./sites.ts, at `http://127.0.0.1:<port>/<slug>/`:
 *   /<slug>/           home page: <title>, meta description, nav links, intro, a script and a style
 *   /<slug>/about      about page
 *   /<slug>/team or /<slug>/contact   people with names, roles and e-mails (mailto links), phone
 * Moved sites answer 301 to their new slug (SITE_REDIRECTS); unknown slugs 404.
 *
 * Odd pages for the fetcher's tests, under /__test/:
 *   /__test/status/<code>          answers that status
 *   /__test/redirect/<n>           n redirects, then a page
 *   /__test/redirect-loop          redirects to itself
 *   /__test/broken/                a home page whose about page 404s and team page 500s
 *   /__test/redirect-to?url=...    redirects to any URL (e.g. file:///etc/passwd)
 *   /__test/big?kb=<n>             an HTML page of n KiB
 *   /__test/binary                 application/octet-stream
 *   /__test/slow?ms=<n>            answers after n ms
 *   /__test/latin1                 an ISO-8859-1 page
 *
 * From tests: `startCompanySites({ port: 0 })`. As a script:
 *   tsx sandbox/company-sites/server.ts   (SITES_STANDIN_PORT=4030)
 */
import http from 'node:http';
import { COMPANY_SITES, SITE_REDIRECTS, type CompanySite } from './sites';
import { asyncHandler } from '../async-handler';
import { baseUrlOf, closeServer, listen, runFromCli } from '../serve';

export interface SiteRequest {
  method: string;
  path: string;
  status: number;
  userAgent: string | null;
  at: number;
}

export interface CompanySitesStandIn {
  /** Base URL without a trailing slash: `${url}/<slug>/` is a company's home page. */
  url: string;
  requests: SiteRequest[];
  close(): Promise<void>;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function layout(site: CompanySite, title: string, body: string): string {
  const nav = [
    `<a href="./">Home</a>`,
    site.about ? `<a href="about">About us</a>` : '',
    site.team
      ? `<a href="${site.peoplePath ?? 'team'}">${site.peoplePath === 'contact' ? 'Contact' : 'Our team'}</a>`
      : '',
  ]
    .filter(Boolean)
    .join(' | ');
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>${esc(title)}</title>
  <meta name="description" content="${esc(site.tagline)}">
  <meta property="og:title" content="${esc(site.name)}">
  <style>body { font-family: sans-serif; } .team li { margin: 4px 0; }</style>
  <script>window.analytics = { track: function () { return "tracking code is not page text"; } };</script>
</head>
<body>
  <header><strong>${esc(site.name)}</strong><nav>${nav}</nav></header>
  <main>
${body}
  </main>
  <footer>&copy; 2025 ${esc(site.name)}</footer>
  <!-- a comment that is not page text -->
</body>
</html>`;
}

function homePage(site: CompanySite): string {
  return layout(
    site,
    `${site.name} | ${site.tagline}`,
    `    <h1>${esc(site.name)}</h1>\n${site.home.map((p) => `    <p>${esc(p)}</p>`).join('\n')}`,
  );
}

function aboutPage(site: CompanySite): string {
  return layout(
    site,
    `About | ${site.name}`,
    `    <h1>About ${esc(site.name)}</h1>\n${(site.about ?? []).map((p) => `    <p>${esc(p)}</p>`).join('\n')}`,
  );
}

function peoplePage(site: CompanySite): string {
  const people = (site.team ?? [])
    .map(
      (m) =>
        `      <li><span class="name">${esc(m.name)}</span> — <span class="role">${esc(m.role)}</span> — <a href="mailto:${esc(m.email)}">${esc(m.email)}</a></li>`,
    )
    .join('\n');
  const contact = [
    site.phone ? `    <p>Phone: <a href="tel:${esc(site.phone.replace(/\s+/g, ''))}">${esc(site.phone)}</a></p>` : '',
    site.address ? `    <p>Address: ${esc(site.address)}</p>` : '',
  ]
    .filter(Boolean)
    .join('\n');
  const heading = site.peoplePath === 'contact' ? 'Contact us' : 'Our team';
  return layout(
    site,
    `${heading} | ${site.name}`,
    `    <h1>${heading}</h1>\n    <ul class="team">\n${people}\n    </ul>\n${contact}`,
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function startCompanySites(opts: { port?: number; host?: string } = {}): Promise<CompanySitesStandIn> {
  const requests: SiteRequest[] = [];
  const bySlug = new Map(COMPANY_SITES.map((s) => [s.slug, s]));

  const server = http.createServer(
    asyncHandler(async (req, res) => {
      const url = new URL(req.url ?? '/', 'http://sites');
      const entry: SiteRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        status: 0,
        userAgent: req.headers['user-agent'] ?? null,
        at: Date.now(),
      };
      requests.push(entry);
      const send = (status: number, body: string | Buffer, headers: Record<string, string> = {}) => {
        entry.status = status;
        res.writeHead(status, {
          'Content-Type': 'text/html; charset=utf-8',
          'Content-Length': String(Buffer.byteLength(body)),
          ...headers,
        });
        res.end(req.method === 'HEAD' ? undefined : body);
      };
      const redirect = (status: number, location: string) =>
        send(status, `<a href="${esc(location)}">moved</a>`, { Location: location });
      const notFound = () => send(404, '<!doctype html><title>Not found</title><h1>404 Not Found</h1>');

      if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed', { Allow: 'GET, HEAD' });
      const parts = url.pathname.split('/').filter(Boolean);

      if (parts[0] === '__test') {
        const [, kind, arg] = parts;
        if (kind === 'status' && arg) return send(Number(arg) || 500, `<h1>status ${esc(arg)}</h1>`);
        if (kind === 'redirect') {
          const n = Number(arg ?? 0);
          return n > 0
            ? redirect(302, `/__test/redirect/${n - 1}`)
            : send(200, '<html><head><title>Arrived</title></head><body><p>Arrived after redirects.</p></body></html>');
        }
        if (kind === 'redirect-loop') return redirect(302, '/__test/redirect-loop');
        if (kind === 'broken') {
          if (arg === 'about') return notFound();
          if (arg === 'team') return send(500, '<h1>Internal Server Error</h1>');
          return send(
            200,
            '<html><head><title>Broken links</title></head><body><nav><a href="about">About</a> <a href="team">Team</a></nav><main><p>We make things that break.</p></main></body></html>',
          );
        }
        if (kind === 'redirect-to') return redirect(302, url.searchParams.get('url') ?? '/');
        if (kind === 'big') {
          const kb = Math.min(Number(url.searchParams.get('kb') ?? 1024), 16 * 1024);
          const filler = '<p>' + 'lorem ipsum dolor sit amet '.repeat(37) + '</p>\n';
          return send(
            200,
            `<html><head><title>Big page</title></head><body>${filler.repeat(Math.ceil((kb * 1024) / filler.length))}</body></html>`,
          );
        }
        if (kind === 'binary')
          return send(200, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3]), {
            'Content-Type': 'application/octet-stream',
          });
        if (kind === 'slow') {
          await sleep(Math.min(Number(url.searchParams.get('ms') ?? 1000), 30_000));
          if (res.destroyed) return;
          return send(200, '<html><head><title>Slow</title></head><body><p>Finally.</p></body></html>');
        }
        if (kind === 'latin1') {
          return send(
            200,
            Buffer.from(
              '<html><head><title>Caf\xe9 M\xfcller</title></head><body><p>Kaffee &amp; Kuchen seit 1950.</p></body></html>',
              'latin1',
            ),
            {
              'Content-Type': 'text/html; charset=ISO-8859-1',
            },
          );
        }
        return notFound();
      }

      const slug = parts[0];
      if (!slug)
        return send(
          200,
          `<html><head><title>Company sites stand-in</title></head><body><ul>${COMPANY_SITES.map((s) => `<li><a href="/${s.slug}/">${esc(s.name)}</a></li>`).join('')}</ul></body></html>`,
        );
      const moved = SITE_REDIRECTS[slug];
      if (moved)
        return redirect(301, `/${[moved, ...parts.slice(1)].join('/')}${url.pathname.endsWith('/') ? '/' : ''}`);
      const site = bySlug.get(slug);
      if (!site) return notFound();
      const page = parts[1];
      if (!page) return url.pathname.endsWith('/') ? send(200, homePage(site)) : redirect(301, `/${slug}/`);
      if (parts.length === 2 && page === 'about' && site.about) return send(200, aboutPage(site));
      if (parts.length === 2 && page === (site.peoplePath ?? 'team') && site.team) return send(200, peoplePage(site));
      return notFound();
    }),
  );

  await listen(server, opts.port ?? 0, opts.host ?? '127.0.0.1');
  return {
    url: baseUrlOf(server),
    requests,
    close: () => closeServer(server),
  };
}

if (require.main === module) {
  const port = Number(process.env.SITES_STANDIN_PORT ?? 4030);
  runFromCli(
    'company sites stand-in',
    () => startCompanySites({ port }),
    (s) => ({ url: s.url }),
  );
}
