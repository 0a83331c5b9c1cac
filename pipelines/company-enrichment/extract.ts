/**
 * HTML -> the facts later steps need: title, meta description, readable text, links, e-mail
 * addresses and phone numbers. Regular expressions, not a DOM: pages come from the open web and
 * may be broken in every way; this never throws and never runs page code. The readable text is
 * the page's <main> (or <body>) without navigation, scripts and styles, one block per line, so
 * the AI steps get prose and the prompts stay small. E-mails and phones come from the whole
 * document (footers hold them).
 *
 * Everything here runs in time linear in the page (up to 1 MiB of hostile HTML; measured by
 * `npm run bench:extract`). A pattern such as `<main\b[^>]*>` or an e-mail's `[...]+@` fails only
 * after scanning to the end of the input, and a regex engine retries it from every later
 * position: quadratic (100 KB of `<p ` took seconds, 1 MiB minutes). So tag patterns only see
 * the text up to the last `>`, an element's end is searched once from its first opener, and
 * e-mails are found by a scanner instead of a regex.
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
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  copy: '©',
  reg: '®',
  trade: '™',
  hellip: '…',
  mdash: '—',
  ndash: '–',
  lsquo: '‘',
  rsquo: '’',
  ldquo: '“',
  rdquo: '”',
  middot: '·',
  bull: '•',
  euro: '€',
  pound: '£',
  eacute: 'é',
  egrave: 'è',
  agrave: 'à',
  aacute: 'á',
  iacute: 'í',
  oacute: 'ó',
  uacute: 'ú',
  ntilde: 'ñ',
  ccedil: 'ç',
  auml: 'ä',
  ouml: 'ö',
  uuml: 'ü',
  szlig: 'ß',
  Auml: 'Ä',
  Ouml: 'Ö',
  Uuml: 'Ü',
};

export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]{2,8});/gi, (whole, name: string) => {
    if (name[0] === '#') {
      const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff)
        ? String.fromCodePoint(code)
        : '';
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

/**
 * The part of `html` that can hold a tag: up to its last `>`. Every tag pattern here ends in
 * `[^>]*>`, which cannot match past the last `>`; matched only within this part, each attempt
 * finds its `>` instead of scanning to the end of the page and failing, so the matches are the
 * same and the time is linear.
 */
function tagPart(html: string): string {
  return html.slice(0, html.lastIndexOf('>') + 1);
}

/** `html.replace(tagPattern, by)`, in linear time (see tagPart). */
function replaceTags(html: string, tagPattern: RegExp, by: string): string {
  const part = tagPart(html);
  return part.replace(tagPattern, by) + html.slice(part.length);
}

/**
 * What `/<name\b[^>]*>([\s\S]*?)<\/name>/i` captures, in linear time: the first opener's end
 * is the first `>` after it and later openers end no earlier, so when no `</name>` follows the
 * first opener none follows any (the regex would have tried each of them up to the end).
 * With `toEnd`, everything after the first opener (`<body\b[^>]*>([\s\S]*)`).
 */
function elementContent(html: string, name: string, toEnd = false): string | undefined {
  const open = new RegExp(`<${name}\\b[^>]*>`, 'i').exec(tagPart(html));
  if (!open) return undefined;
  const from = open.index + open[0].length;
  if (toEnd) return html.slice(from);
  const close = new RegExp(`</${name}>`, 'gi');
  close.lastIndex = from;
  const end = close.exec(html);
  return end ? html.slice(from, end.index) : undefined;
}

const BLOCK =
  /<\/?(p|div|li|ul|ol|h[1-6]|tr|td|th|table|section|article|header|footer|main|aside|blockquote|pre|dd|dt|dl|figure|figcaption|form|address)\b[^>]*>|<br\s*\/?>/gi;

export function htmlToText(html: string): string {
  const text = decodeEntities(replaceTags(replaceTags(stripNonText(html), BLOCK, '\n'), /<[^>]*>/g, ' '));
  return (
    text
      .split('\n')
      // Single spaces are left alone: replacing each one made a page of words slow.
      .map((l) => l.replace(/[ \t\f\v\u00a0]{2,}|[\t\f\v\u00a0]/g, ' ').trim())
      .filter(Boolean)
      .join('\n')
  );
}

function attr(tag: string, name: string): string | null {
  const m = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
  return m ? decodeEntities(m[1] ?? m[2] ?? m[3] ?? '').trim() : null;
}

function metaContent(html: string, key: string): string | null {
  for (const m of tagPart(html).matchAll(/<meta\b[^>]*>/gi)) {
    const tag = m[0];
    if ((attr(tag, 'name') ?? attr(tag, 'property'))?.toLowerCase() === key) return attr(tag, 'content');
  }
  return null;
}

/** The readable part of the page: <main>, else <article>, else <body>; without <nav>. */
function readablePart(html: string): string {
  const clean = stripNonText(html);
  const main =
    elementContent(clean, 'main') ?? elementContent(clean, 'article') ?? elementContent(clean, 'body', true) ?? clean;
  return main.replace(/<nav\b[\s\S]*?(?:<\/nav\s*>|$)/gi, ' ');
}

/** Character classes by char code, tested once per character of the page. */
function charClass(pattern: RegExp): Uint8Array {
  const table = new Uint8Array(128);
  for (let c = 0; c < 128; c++) table[c] = pattern.test(String.fromCharCode(c)) ? 1 : 0;
  return table;
}
const LOCAL_CHAR = charClass(/[A-Za-z0-9._%+-]/);
const LABEL_CHAR = charClass(/[A-Za-z0-9-]/);
const LETTER = charClass(/[A-Za-z]/);
const WORD = charClass(/\w/);
const SEPARATOR = charClass(/[\s.-]/);
const isIn = (table: Uint8Array, text: string, at: number) => at < text.length && table[text.charCodeAt(at)] === 1;
const isDigit = (text: string, at: number) =>
  at < text.length && text.charCodeAt(at) >= 48 && text.charCodeAt(at) <= 57;
/** `[\s.-]`: \s beyond ASCII too (U+00A0, U+2000-U+200A, ...). */
const isSeparator = (text: string, at: number) =>
  at < text.length && (isIn(SEPARATOR, text, at) || (text.charCodeAt(at) >= 128 && /\s/.test(text[at]!)));

/**
 * Where an e-mail's domain that starts at `from` ends, or -1: as
 * `(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,24}` matches greedily, the most `label.` repeats after which
 * two letters follow, then up to 24 letters. One pass over the labels.
 */
function domainEnd(text: string, from: number): number {
  let end = -1;
  let at = from;
  for (;;) {
    let label = at;
    while (isIn(LABEL_CHAR, text, label)) label++;
    if (label === at || text[label] !== '.') return end;
    at = label + 1;
    let letters = at;
    while (letters - at < 24 && isIn(LETTER, text, letters)) letters++;
    if (letters - at >= 2) end = letters;
  }
}

/**
 * The e-mail addresses in `text`, exactly what `/[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,24}/g`
 * matches, found in one pass: that regex retries every position of a long run of address
 * characters without an `@` after it (quadratic). A match starts at the first address character
 * of a run that ends in `@`; a run that does not cannot hold one anywhere.
 */
export function emailsIn(text: string): string[] {
  const found: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (!isIn(LOCAL_CHAR, text, i)) {
      i++;
      continue;
    }
    const start = i;
    while (isIn(LOCAL_CHAR, text, i)) i++;
    if (text[i] !== '@') continue;
    const end = domainEnd(text, i + 1);
    if (end < 0) continue;
    found.push(text.slice(start, end));
    i = end;
  }
  return found;
}

/**
 * The phone numbers in `text`: exactly what
 * `/(?<![\w+])\+\d{1,3}[\s.-]?(?:\(\d{1,4}\)[\s.-]?)?\d{1,4}(?:[\s.-]?\d{2,4}){1,4}(?!\w)/g` matches.
 * That regex is linear but splits a run of digits every possible way before failing (1 MiB of
 * `+` and 18 digits took 0.4 s); this tries the splits in the regex's order and remembers
 * what each rest of the number leads to, so each (offset, groups so far) is worked out once.
 */
/** Longest text the phone pattern can match: `+`, 3 digits, `(4)`, 4 digits, 4 groups of 4, a separator before each part. */
const MAX_PHONE_CHARS = 48;
const UNKNOWN = -2;

export function phonesIn(text: string): string[] {
  const found: string[] = [];
  let start = 0;
  /** What the groups from an offset of the current number lead to: unknown, the end, or -1. */
  const memo = new Int32Array(MAX_PHONE_CHARS * 5);
  const digitsAt = (at: number, n: number) => {
    for (let k = 0; k < n; k++) if (!isDigit(text, at + k)) return false;
    return true;
  };
  /** `(?:[\s.-]?\d{2,4}){groups,4}(?!\w)` after `groups` groups; greedy, so another group first. */
  const groupsEnd = (at: number, groups: number): number => {
    const key = (at - start) * 5 + groups;
    if (memo[key] !== UNKNOWN) return memo[key]!;
    let end = -1;
    for (let from = isSeparator(text, at) ? at + 1 : at; groups < 4 && end < 0 && from >= at; from--) {
      for (let n = 4; n >= 2 && end < 0; n--) if (digitsAt(from, n)) end = groupsEnd(from + n, groups + 1);
    }
    if (end < 0 && groups >= 1 && !isIn(WORD, text, at)) end = at;
    memo[key] = end;
    return end;
  };
  /** `\d{1,4}` then the groups. */
  const localEnd = (at: number): number => {
    let end = -1;
    for (let n = 4; n >= 1 && end < 0; n--) if (digitsAt(at, n)) end = groupsEnd(at + n, 0);
    return end;
  };
  /** `[\s.-]?` (with the separator first) then `next`. */
  const afterSeparator = (at: number, next: (from: number) => number): number => {
    const end = isSeparator(text, at) ? next(at + 1) : -1;
    return end >= 0 ? end : next(at);
  };
  /** `(?:\(\d{1,4}\)[\s.-]?)?` then the local part: with the area code first. */
  const areaEnd = (at: number): number => {
    if (text[at] === '(') {
      for (let n = 4; n >= 1; n--) {
        if (!digitsAt(at + 1, n) || text[at + 1 + n] !== ')') continue;
        const end = afterSeparator(at + 2 + n, localEnd);
        if (end >= 0) return end;
      }
    }
    return localEnd(at);
  };
  while ((start = text.indexOf('+', start)) >= 0) {
    let end = -1;
    if (start === 0 || (!isIn(WORD, text, start - 1) && text[start - 1] !== '+')) {
      memo.fill(UNKNOWN);
      for (let n = 3; n >= 1 && end < 0; n--) if (digitsAt(start + 1, n)) end = afterSeparator(start + 1 + n, areaEnd);
    }
    if (end < 0) {
      start++;
      continue;
    }
    found.push(text.slice(start, end));
    start = end;
  }
  return found;
}

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
  const title = elementContent(html, 'title');
  const description = metaContent(html, 'description') ?? metaContent(html, 'og:description');
  const language = attr(/<html\b[^>]*>/i.exec(tagPart(html))?.[0] ?? '', 'lang');

  const links: string[] = [];
  const emails: string[] = [];
  const phones: string[] = [];
  for (const m of tagPart(stripNonText(html)).matchAll(/<a\b[^>]*>/gi)) {
    const href = attr(m[0], 'href');
    if (!href) continue;
    if (/^mailto:/i.test(href)) {
      let address: string;
      try {
        address = decodeURIComponent(href.slice(7).split('?')[0] ?? '').trim();
      } catch {
        continue; // a malformed escape (`mailto:%`) is no address
      }
      if (emailsIn(address)[0] === address) emails.push(address.toLowerCase());
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
  for (const e of emailsIn(allText)) if (!NOT_EMAIL.test(e)) emails.push(e.toLowerCase());
  for (const p of phonesIn(allText)) phones.push(p.trim());

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
  /** The last path segment; trailing slashes cut by hand, as `/\/+$/` retries every slash of a long run (quadratic). */
  const last = (l: string) => {
    const path = new URL(l).pathname;
    let end = path.length;
    while (end > 0 && path[end - 1] === '/') end--;
    return path.slice(path.lastIndexOf('/', end - 1) + 1, end).toLowerCase();
  };
  const pick = (patterns: RegExp[]) => {
    for (const p of patterns) {
      const hit = sameSite.find((l) => p.test(last(l)));
      if (hit) return hit;
    }
    return undefined;
  };
  const about = pick([/^about(-us)?$/, /^(who-we-are|company|ueber-uns|uber-uns|qui-sommes-nous|nosotros)$/, /about/]);
  const people = pick([
    /^(team|our-team|people|leadership|management)$/,
    /^(contact|contact-us|kontakt|contacto)$/,
    /team|people|contact/,
  ]);
  return { ...(about ? { about } : {}), ...(people && people !== about ? { people } : {}) };
}
