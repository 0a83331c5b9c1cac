/**
 * Pages built to make HTML extraction slow: each repeats what once made a pattern of
 * pipelines/company-enrichment/extract.ts retry from every position (a quadratic regex), or
 * split a run of digits every possible way. Shared by `npm run bench:extract` and
 * test/company-enrichment.unit.test.ts.
 */
export interface HostilePage {
  name: string;
  /** The page, `bytes` long (give or take a tag). */
  html(bytes: number): string;
}

const repeat = (unit: string, bytes: number) => unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes);
const page = (name: string, unit: string, prefix = '', suffix = ''): HostilePage => ({
  name,
  html: (bytes) => prefix + repeat(unit, bytes) + suffix,
});

export const HOSTILE_PAGES: HostilePage[] = [
  page('e-mail: "a@" repeated', 'a@'),
  page('e-mail: address characters without an @', 'a'),
  page('e-mail: word characters with dots', 'ab.'),
  page('e-mail: a long local part, a domain without a top level', 'a.', '', `@${'a.'.repeat(1000)}a`),
  page('<main> without a closing tag, many times', '<main>'),
  page('"<main" without ">"', '<main '),
  page('<article> without a closing tag', '<article>'),
  page('<title> without a closing tag', '<title>'),
  page('"<body" without ">"', '<body '),
  page('"<" without ">"', '<'),
  page('"<p" without ">" (block tags)', '<p '),
  page('"<br" and spaces without ">"', '<br   '),
  page('"<a" without ">" (links)', '<a href=x '),
  page('"<meta" without ">"', '<meta name=description '),
  page('"<html" without ">"', '<html lang=en '),
  page('"</script" without ">" inside a script', '</script  ', '<script>'),
  page('comments without an end', '<!--'),
  page('whitespace', ' \t\u00a0\n'),
  page('entities without ";"', '&amp'),
  page('phone: "+" and 18 digits', ' +111111111111111111x'),
  page('phone: area codes and groups', ' +123 (1234) 1234 12 12 12 1x'),
  page('a mailto: link with a long address', 'a', '<a href="mailto:', '">'),
  page('a link of slashes', '/', '<a href="https://x.example/', 'about">'),
  page('everything mixed', '<p>a.b@c.de <main x="> +1 234 567 89"> <a href="/x"><title>'),
];
