/**
 * HTML -> the facts later steps need: title, meta description, readable text, links, e-mail
 * addresses and phone numbers. Regular expressions, not a DOM: pages come from the open web and
 * may be broken in every way; this never throws and never runs page code. The readable text is
 * the page's <main> (or <body>) without navigation, scripts and styles, one block per line, so
 * the AI steps get prose and the prompts stay small. E-mails and phones come from the whole
 * document (footers hold them).
 */

export interface PageFacts {
  url: string;
  title: string | null;
  description: string | null;
  /** `<html lang>`. */
  language: string | null;
  text: string;
  links: string[];
  emails: string[];
  phones: string[];
}

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', copy: '©', reg: '®', trade: '™', hellip: '…', mdash: '—', ndash: '–',
  lsquo: '‘', rsquo: '’', ldquo: '“', rdquo: '”', middot: '·', bull: '•', euro: '€', pound: '£', eacute: 'é', egrave: 'è', agrave: 'à',
  aacute: 'á', iacute: 'í', oacute: 'ó', uacute: 'ú', ntilde: 'ñ', ccedil: 'ç', auml: 'ä', ouml: 'ö', uuml: 'ü', szlig: 'ß', Auml: 'Ä', Ouml: 'Ö', Uuml: 'Ü',
};

export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]{2,8});/gi, (whole, name: string) => {
    if (name[0] === '#') {
      const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : '';
    }
    return NAMED_ENTITIES[name] ?? whole;
  });
}

/** Drops what is never page text: comments, scripts, styles, inline SVG, templates. */
export function stripNonText(html: string): string {
  return html
    .replace(/<!--[\s\S]*?(?:-->|$)/g, ' ')
    .replace(/<(script|style|noscript|svg|template|iframe|object)\b[\s\S]*?(?:<\/\1\s*>|$)/gi, ' ');
}

const BLOCK = /<\/?(p|div|li|ul|ol|h[1-6]|tr|td|th|table|section|article|header|footer|main|aside|blockquote|pre|dd|dt|dl|figure|figcaption|form|address)\b[^>]*>|<br\s*\/?>/gi;

export function htmlToText(html: string): string {
  const text = decodeEntities(stripNonText(html).replace(BLOCK, '\n').replace(/<[^>]*>/g, ' '));
  return text
    .split('\n')
    .map((l) => l.replace(/[ \t\f\v\u00a0]+/g, ' ').trim())
    .filter(Boolean)
    .join('\n');
}

function attr(tag: string, name: string): string | null {
  const m = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
  return m ? decodeEntities(m[1] ?? m[2] ?? m[3] ?? '').trim() : null;
}

function metaContent(html: string, key: string): string | null {
  for (const m of html.matchAll(/<meta\b[^>]*>/gi)) {
    const tag = m[0];
    if ((attr(tag, 'name') ?? attr(tag, 'property'))?.toLowerCase() === key) return attr(tag, 'content');
  }
  return null;
}

/** The readable part of the page: <main>, else <article>, else <body>; without <nav>. */
function readablePart(html: string): string {
  const clean = stripNonText(html);
  const main = /<main\b[^>]*>([\s\S]*?)<\/main>/i.exec(clean)?.[1] ?? /<article\b[^>]*>([\s\S]*?)<\/article>/i.exec(clean)?.[1] ?? /<body\b[^>]*>([\s\S]*)/i.exec(clean)?.[1] ?? clean;
  return main.replace(/<nav\b[\s\S]*?(?:<\/nav\s*>|$)/gi, ' ');
}

const EMAIL = /[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,24}/g;
const PHONE = /(?<![\w+])\+\d{1,3}[\s.-]?(?:\(\d{1,4}\)[\s.-]?)?\d{1,4}(?:[\s.-]?\d{2,4}){1,4}(?!\w)/g;
/** File names look like e-mails (`logo@2x.png`). */
const NOT_EMAIL = /\.(png|jpe?g|gif|svg|webp|css|js)$/i;

function unique(values: Iterable<string>, limit: number): string[] {
  const seen = new Set<string>();
  for (const v of values) {
    if (seen.size >= limit) break;
    seen.add(v);
  }
  return [...seen];
}

/** Caps on what one page contributes, so step outputs (which travel in workflow history) stay small. */
export const LIMITS = { textChars: 6_000, links: 60, emails: 30, phones: 10 };

export function extractFacts(html: string, pageUrl: string): PageFacts {
  const title = /<title\b[^>]*>([\s\S]*?)<\/title>/i.exec(html)?.[1];
  const description = metaContent(html, 'description') ?? metaContent(html, 'og:description');
  const language = attr(/<html\b[^>]*>/i.exec(html)?.[0] ?? '', 'lang');

  const links: string[] = [];
  const emails: string[] = [];
  const phones: string[] = [];
  for (const m of stripNonText(html).matchAll(/<a\b[^>]*>/gi)) {
    const href = attr(m[0], 'href');
    if (!href) continue;
    if (/^mailto:/i.test(href)) {
      const address = decodeURIComponent(href.slice(7).split('?')[0] ?? '').trim();
      if (address.match(EMAIL)?.[0] === address) emails.push(address.toLowerCase());
      continue;
    }
    if (/^tel:/i.test(href)) {
      phones.push(href.slice(4).trim());
      continue;
    }
    try {
      const abs = new URL(href, pageUrl);
      if (abs.protocol === 'http:' || abs.protocol === 'https:') {
        abs.hash = '';
        links.push(abs.href);
      }
    } catch {
      // not a URL: ignore
    }
  }
  const allText = htmlToText(html);
  for (const e of allText.match(EMAIL) ?? []) if (!NOT_EMAIL.test(e)) emails.push(e.toLowerCase());
  for (const p of allText.match(PHONE) ?? []) phones.push(p.trim());

  const text = htmlToText(readablePart(html));
  return {
    url: pageUrl,
    title: title ? decodeEntities(title).replace(/\s+/g, ' ').trim() || null : null,
    description: description ? description.replace(/\s+/g, ' ').slice(0, 500) || null : null,
    language: language || null,
    text: text.length > LIMITS.textChars ? `${text.slice(0, LIMITS.textChars)}…` : text,
    links: unique(links, LIMITS.links),
    emails: unique(emails, LIMITS.emails),
    phones: unique(
      phones.map((p) => p.replace(/[^\d+]/g, '')).filter((p) => p.length >= 8),
      LIMITS.phones,
    ),
  };
}

/** Same-site links to the about and people (team/contact) pages, best guess first. */
export function findSubpages(links: string[], homeUrl: string): { about?: string; people?: string } {
  const home = new URL(homeUrl);
  const sameSite = links.filter((l) => {
    try {
      const u = new URL(l);
      return u.host === home.host && u.pathname !== home.pathname;
    } catch {
      return false;
    }
  });
  const last = (l: string) => new URL(l).pathname.replace(/\/+$/, '').split('/').pop()?.toLowerCase() ?? '';
  const pick = (patterns: RegExp[]) => {
    for (const p of patterns) {
      const hit = sameSite.find((l) => p.test(last(l)));
      if (hit) return hit;
    }
    return undefined;
  };
  const about = pick([/^about(-us)?$/, /^(who-we-are|company|ueber-uns|uber-uns|qui-sommes-nous|nosotros)$/, /about/]);
  const people = pick([/^(team|our-team|people|leadership|management)$/, /^(contact|contact-us|kontakt|contacto)$/, /team|people|contact/]);
  return { ...(about ? { about } : {}), ...(people && people !== about ? { people } : {}) };
}
