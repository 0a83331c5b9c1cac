/**
 * The fonts a creative template may use: a small set of open fonts bundled from npm
 * (@fontsource packages, SIL Open Font License / Apache 2.0), served to the renderer page from
 * node_modules through request interception. Arial, Helvetica, Times New Roman and Courier New,
 * the families Fabric editors default to, are served by their metric-compatible open twins
 * (Arimo, Tinos, Cousine), so text wraps where the designer saw it wrap.
 *
 * A template naming any other family is refused when it is saved (canvas-check.ts): a missing
 * font would silently fall back to whatever the machine has and move every line.
 */
import fs from 'node:fs';
import path from 'node:path';

/** CSS family names a template may use → the @fontsource package that draws them. */
const FAMILIES: Record<string, string> = {
  Arimo: 'arimo',
  Arial: 'arimo',
  Helvetica: 'arimo',
  Tinos: 'tinos',
  'Times New Roman': 'tinos',
  Times: 'tinos',
  Cousine: 'cousine',
  'Courier New': 'cousine',
  Roboto: 'roboto',
  'Open Sans': 'open-sans',
  Lato: 'lato',
  Merriweather: 'merriweather',
};

/** Generic families, mapped to a bundled one so that no machine font is ever used. */
const GENERIC: Record<string, string> = { 'sans-serif': 'Arimo', serif: 'Tinos', monospace: 'Cousine' };

/** The families a template may name, for messages and the API. */
export const FONT_FAMILIES = Object.keys(FAMILIES);

/**
 * The bundled families a Fabric `fontFamily` value names (a CSS list such as `"Roboto", sans-serif`),
 * or the first name that is not bundled.
 */
export function fontFamiliesOf(fontFamily: string): { families: string[] } | { unknown: string } {
  const families: string[] = [];
  for (const raw of fontFamily.split(',')) {
    const name = raw
      .trim()
      .replace(/^(['"])(.*)\1$/, '$2')
      .trim();
    if (!name) continue;
    const known = FAMILIES[name] ? name : GENERIC[name.toLowerCase()];
    if (!known) return { unknown: name };
    families.push(known);
  }
  return families.length ? { families } : { unknown: fontFamily };
}

/** The weights and styles bundled per family (others are synthesised from the nearest). */
const FACES = ['400', '400-italic', '700', '700-italic'];

let css: string | undefined;

/** `@font-face` rules for every bundled family and alias, their URLs under `urlBase`. */
export function fontFaceCss(urlBase: string): string {
  if (css !== undefined) return css;
  const rules: string[] = [];
  for (const [family, pkg] of Object.entries(FAMILIES)) {
    for (const face of FACES) {
      const file = path.join(packageDir(pkg), `${face}.css`);
      if (!fs.existsSync(file)) continue;
      const text = fs.readFileSync(file, 'utf8');
      for (const block of text.match(/@font-face\s*{[^}]*}/g) ?? []) {
        const woff2 = /url\(\.\/files\/([a-z0-9-]+\.woff2)\)/.exec(block)?.[1];
        if (!woff2) continue;
        rules.push(
          block
            .replace(/font-family:[^;]*;/, `font-family: '${family}';`)
            .replace(/font-display:[^;]*;/, 'font-display: block;')
            .replace(/src:[^;]*;/, `src: url(${urlBase}${pkg}/${woff2}) format('woff2');`),
        );
      }
    }
  }
  css = rules.join('\n');
  return css;
}

/** The file behind `<urlBase><pkg>/<file>`, or undefined for anything that is not a bundled font. */
export function fontFileOf(relative: string): string | undefined {
  const m = /^([a-z-]+)\/([a-z0-9-]+\.woff2)$/.exec(relative);
  if (!m || !Object.values(FAMILIES).includes(m[1]!)) return undefined;
  const file = path.join(packageDir(m[1]!), 'files', m[2]!);
  return fs.existsSync(file) ? file : undefined;
}

function packageDir(pkg: string): string {
  return path.dirname(require.resolve(`@fontsource/${pkg}/package.json`));
}
