/**
 * What a Fabric.js canvas may hold before it is stored as a creative template, and what it uses.
 *
 * The check walks every object (groups and clip paths included) and refuses, naming the object:
 * a type this renderer does not draw, an image that is not an embedded `data:` image (so a
 * template can never make the renderer fetch anything), patterns and image filters, fonts that
 * are not bundled (fonts.ts), colours that are not colours, and sizes past the limits below (so
 * no template can make a render unbounded). Both the 5.x lower-case object types and the 6.x+
 * class names are accepted, as Fabric itself loads both.
 */
import type { FieldIssue } from '../../../contract/errors';
import type { TemplateUses } from '../../../contract/creative-templates';
import { placeholdersIn } from '../../../contract/values';
import { fontFamiliesOf, FONT_FAMILIES } from './fonts';

export const CANVAS_LIMITS = {
  objects: 2_000,
  groupDepth: 8,
  /** Canvas and object size in canvas pixels (after scaling). */
  size: 20_000,
  position: 100_000,
  scale: 100,
  fontSize: 1_000,
  strokeWidth: 1_000,
  textChars: 10_000,
  totalTextChars: 200_000,
  pathCommands: 50_000,
  points: 10_000,
  imageChars: 3 * 1024 * 1024,
  styleEntries: 50_000,
} as const;

/** Object types drawn (lower-cased; `i-text` and `itext` alike). */
const TEXT_TYPES = new Set(['textbox', 'text', 'i-text', 'itext']);
const SHAPE_TYPES = new Set(['rect', 'circle', 'ellipse', 'triangle', 'line', 'path', 'polygon', 'polyline']);
export const OBJECT_TYPES = [
  'textbox',
  'text',
  'i-text',
  'rect',
  'circle',
  'ellipse',
  'triangle',
  'line',
  'path',
  'polygon',
  'polyline',
  'group',
  'image',
];

const IMAGE_SRC = /^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]+$/;
const COLOR = /^(#[0-9a-f]{3,8}|(rgb|rgba|hsl|hsla)\(\s*[-0-9.%,\s/]+\)|[a-z]{3,30}|)$/i;

/** The marker of the QR code slot: an object named `qr` (or with `data.placeholder: "qr"`). */
export function isQrSlot(o: Record<string, unknown>): boolean {
  const data = o.data as { placeholder?: unknown } | undefined;
  return o.name === 'qr' || (typeof data === 'object' && data !== null && data.placeholder === 'qr');
}

export interface FontUse {
  family: string;
  weight: 400 | 700;
  style: 'normal' | 'italic';
}

export interface CanvasCheck {
  issues: FieldIssue[];
  uses: TemplateUses;
  /** Faces the renderer loads before drawing. */
  faces: FontUse[];
}

type Obj = Record<string, unknown>;

class Walker {
  readonly issues: FieldIssue[] = [];
  readonly placeholders = new Set<string>();
  readonly faces = new Map<string, FontUse>();
  objects = 0;
  qrSlots = 0;
  textChars = 0;
  pathCommands = 0;
  styleEntries = 0;

  fail(path: string, message: string): void {
    if (this.issues.length < 20) this.issues.push({ path, message });
  }

  object(o: unknown, path: string, depth: number): void {
    if (this.issues.length >= 20) return;
    if (typeof o !== 'object' || o === null || Array.isArray(o)) return this.fail(path, 'must be a Fabric object');
    const obj = o as Obj;
    if (++this.objects > CANVAS_LIMITS.objects)
      return this.fail(
        path,
        `a template holds at most ${CANVAS_LIMITS.objects} objects (groups and their members count)`,
      );
    const type = typeof obj.type === 'string' ? obj.type.toLowerCase() : '';
    const label = `${typeof obj.type === 'string' ? obj.type : 'object'}${typeof obj.name === 'string' ? ` "${obj.name.slice(0, 40)}"` : ''}`;
    this.geometry(obj, path, label);
    this.paint(obj, path, label);
    if (isQrSlot(obj)) {
      this.qrSlots++;
      if (typeof obj.angle === 'number' && obj.angle % 360 !== 0)
        this.fail(`${path}.angle`, `${label}: the QR slot cannot be rotated (a code prints upright)`);
    }
    if (obj.clipPath !== undefined && obj.clipPath !== null) this.object(obj.clipPath, `${path}.clipPath`, depth + 1);
    if (TEXT_TYPES.has(type)) this.text(obj, path, label);
    else if (type === 'image') this.image(obj, path, label);
    else if (type === 'group') this.group(obj, path, label, depth);
    else if (SHAPE_TYPES.has(type)) this.shape(obj, type, path, label);
    else
      this.fail(
        `${path}.type`,
        `${label}: object type "${String(obj.type ?? '')}" is not one this renderer draws (${OBJECT_TYPES.join(', ')})`,
      );
  }

  private geometry(o: Obj, path: string, label: string): void {
    const num = (k: string, min: number, max: number) => {
      const v = o[k];
      if (v === undefined || v === null) return;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
        this.fail(
          `${path}.${k}`,
          `${label}: ${k} must be a number from ${min} to ${max}, not ${JSON.stringify(v)?.slice(0, 40)}`,
        );
    };
    const L = CANVAS_LIMITS;
    for (const k of ['left', 'top']) num(k, -L.position, L.position);
    for (const k of ['width', 'height', 'radius', 'rx', 'ry']) num(k, 0, L.size);
    for (const k of ['scaleX', 'scaleY']) num(k, -L.scale, L.scale);
    for (const k of ['angle', 'skewX', 'skewY']) num(k, -3600, 3600);
    num('strokeWidth', 0, L.strokeWidth);
    num('opacity', 0, 1);
    for (const [size, scale] of [
      ['width', 'scaleX'],
      ['height', 'scaleY'],
    ] as const) {
      const s = o[size];
      const f = o[scale];
      if (typeof s === 'number' && typeof f === 'number' && Math.abs(s * f) > L.size)
        this.fail(`${path}.${size}`, `${label}: drawn ${size} ${Math.round(Math.abs(s * f))} px is over ${L.size} px`);
    }
  }

  color(v: unknown, path: string, label: string, what: string): void {
    if (v === undefined || v === null) return;
    if (typeof v === 'string') {
      if (v.length > 60 || !COLOR.test(v.trim()))
        this.fail(path, `${label}: ${what} "${v.slice(0, 40)}" is not a colour`);
      return;
    }
    if (typeof v !== 'object' || Array.isArray(v))
      return this.fail(path, `${label}: ${what} must be a colour or a gradient`);
    const g = v as Obj;
    if (g.type !== 'linear' && g.type !== 'radial')
      return this.fail(
        path,
        `${label}: ${what} of type "${String(g.type ?? 'pattern')}" is not supported (colours and linear or radial gradients are)`,
      );
    const stops = Array.isArray(g.colorStops) ? g.colorStops : [];
    if (stops.length > 100) return this.fail(`${path}.colorStops`, `${label}: a gradient has at most 100 stops`);
    stops.forEach((s: unknown, i) =>
      this.color((s as Obj | null)?.color, `${path}.colorStops[${i}].color`, label, 'gradient stop'),
    );
  }

  private paint(o: Obj, path: string, label: string): void {
    this.color(o.fill, `${path}.fill`, label, 'fill');
    this.color(o.stroke, `${path}.stroke`, label, 'stroke');
    this.color(o.backgroundColor, `${path}.backgroundColor`, label, 'background');
    this.color(o.textBackgroundColor, `${path}.textBackgroundColor`, label, 'text background');
    if (o.shadow && typeof o.shadow === 'object')
      this.color((o.shadow as Obj).color, `${path}.shadow.color`, label, 'shadow');
  }

  private text(o: Obj, path: string, label: string): void {
    if (typeof o.text !== 'string') return this.fail(`${path}.text`, `${label}: text must be a string`);
    if (o.text.length > CANVAS_LIMITS.textChars)
      return this.fail(`${path}.text`, `${label}: a text holds at most ${CANVAS_LIMITS.textChars} characters`);
    this.textChars += o.text.length;
    if (this.textChars > CANVAS_LIMITS.totalTextChars)
      return this.fail(
        `${path}.text`,
        `the template's texts hold at most ${CANVAS_LIMITS.totalTextChars} characters in all`,
      );
    const fontSize = o.fontSize;
    if (
      fontSize !== undefined &&
      (typeof fontSize !== 'number' || !(fontSize > 0) || fontSize > CANVAS_LIMITS.fontSize)
    )
      this.fail(`${path}.fontSize`, `${label}: fontSize must be a number from 1 to ${CANVAS_LIMITS.fontSize}`);
    for (const p of placeholdersIn(o.text)) this.placeholders.add(p);
    this.font(o, o, path, label);
    this.styles(o, path, label);
  }

  private font(style: Obj, base: Obj, path: string, label: string): void {
    const family = style.fontFamily ?? base.fontFamily ?? 'Times New Roman';
    if (typeof family !== 'string') return this.fail(`${path}.fontFamily`, `${label}: fontFamily must be a string`);
    const known = fontFamiliesOf(family);
    if ('unknown' in known)
      return this.fail(
        `${path}.fontFamily`,
        `${label}: font "${known.unknown.slice(0, 60)}" is not one of the bundled fonts (${FONT_FAMILIES.join(', ')})`,
      );
    const w = style.fontWeight ?? base.fontWeight ?? 'normal';
    const weight = w === 'bold' || w === 'bolder' || Number(w) >= 600 ? 700 : 400;
    const italic =
      (style.fontStyle ?? base.fontStyle) === 'italic' || (style.fontStyle ?? base.fontStyle) === 'oblique';
    for (const f of known.families) {
      const face: FontUse = { family: f, weight, style: italic ? 'italic' : 'normal' };
      this.faces.set(`${f}|${weight}|${face.style}`, face);
    }
  }

  /** Per-character styles: 5.x `{ line: { char: style } }`, 6.x+ `[{ start, end, style }]`. */
  private styles(o: Obj, path: string, label: string): void {
    const styles = o.styles;
    if (styles === undefined || styles === null) return;
    const each = (style: unknown, at: string) => {
      if (++this.styleEntries > CANVAS_LIMITS.styleEntries)
        return this.fail(at, `the template holds at most ${CANVAS_LIMITS.styleEntries} character styles`);
      if (typeof style !== 'object' || style === null) return;
      const s = style as Obj;
      if (s.fontFamily !== undefined || s.fontWeight !== undefined || s.fontStyle !== undefined)
        this.font(s, o, at, label);
      this.color(s.fill, `${at}.fill`, label, 'fill');
      this.color(s.stroke, `${at}.stroke`, label, 'stroke');
    };
    if (Array.isArray(styles))
      styles.forEach((r: unknown, i) => each((r as Obj | null)?.style, `${path}.styles[${i}].style`));
    else if (typeof styles === 'object')
      for (const [line, chars] of Object.entries(styles as Obj))
        if (chars && typeof chars === 'object')
          for (const [ch, style] of Object.entries(chars as Obj)) each(style, `${path}.styles.${line}.${ch}`);
  }

  private image(o: Obj, path: string, label: string): void {
    const src = o.src;
    if (typeof src !== 'string' || !IMAGE_SRC.test(src.slice(0, 64)) || (src.length < 64 && !IMAGE_SRC.test(src)))
      return this.fail(
        `${path}.src`,
        `${label}: images must be embedded as data:image/(png|jpeg|gif|webp);base64 URLs; "${String(src ?? '').slice(0, 60)}" is not`,
      );
    if (src.length > CANVAS_LIMITS.imageChars)
      return this.fail(
        `${path}.src`,
        `${label}: an embedded image holds at most ${CANVAS_LIMITS.imageChars / 1024 / 1024} MB of base64`,
      );
    if (!IMAGE_SRC.test(src)) return this.fail(`${path}.src`, `${label}: the embedded image is not valid base64`);
    if (Array.isArray(o.filters) && o.filters.length > 0)
      this.fail(`${path}.filters`, `${label}: image filters are not supported; apply them to the image before export`);
    if (o.resizeFilter) this.fail(`${path}.resizeFilter`, `${label}: image filters are not supported`);
  }

  private group(o: Obj, path: string, label: string, depth: number): void {
    if (depth + 1 > CANVAS_LIMITS.groupDepth)
      return this.fail(path, `${label}: groups nest at most ${CANVAS_LIMITS.groupDepth} deep`);
    if (!Array.isArray(o.objects)) return this.fail(`${path}.objects`, `${label}: a group needs its objects`);
    o.objects.forEach((child: unknown, i) => this.object(child, `${path}.objects[${i}]`, depth + 1));
  }

  private shape(o: Obj, type: string, path: string, label: string): void {
    if (type === 'path') {
      const p = o.path;
      if (typeof p === 'string') return this.fail(`${path}.path`, `${label}: path data must be Fabric's command array`);
      if (!Array.isArray(p)) return this.fail(`${path}.path`, `${label}: a path needs its commands`);
      this.pathCommands += p.length;
      if (this.pathCommands > CANVAS_LIMITS.pathCommands)
        return this.fail(
          `${path}.path`,
          `the template's paths hold at most ${CANVAS_LIMITS.pathCommands} commands in all`,
        );
      if (
        !p.every(
          (c) =>
            Array.isArray(c) &&
            typeof c[0] === 'string' &&
            c.slice(1).every((n) => typeof n === 'number' && Number.isFinite(n)),
        )
      )
        this.fail(`${path}.path`, `${label}: each path command is a letter followed by numbers`);
    }
    if (type === 'polygon' || type === 'polyline') {
      if (!Array.isArray(o.points) || o.points.length > CANVAS_LIMITS.points)
        this.fail(`${path}.points`, `${label}: needs its points (at most ${CANVAS_LIMITS.points})`);
    }
  }
}

/** Checks a canvas for `page` and reports what it uses; `issues` empty means it may be stored. */
export function checkCanvas(
  canvas: Record<string, unknown>,
  designSize: { width: number; height: number },
): CanvasCheck {
  const w = new Walker();
  if (!Array.isArray(canvas.objects)) w.fail('canvas.objects', 'a Fabric canvas lists its objects under "objects"');
  else canvas.objects.forEach((o: unknown, i) => w.object(o, `canvas.objects[${i}]`, 0));
  w.color(canvas.background, 'canvas.background', 'canvas', 'background');
  for (const k of ['backgroundImage', 'overlayImage'] as const)
    if (canvas[k] !== undefined && canvas[k] !== null) w.object(canvas[k], `canvas.${k}`, 0);
  if (canvas.clipPath !== undefined && canvas.clipPath !== null) w.object(canvas.clipPath, 'canvas.clipPath', 0);
  if (w.objects === 0 && w.issues.length === 0)
    w.fail('canvas.objects', 'the canvas has no objects: there is nothing to print');
  return {
    issues: w.issues,
    faces: [...w.faces.values()],
    uses: {
      placeholders: [...w.placeholders].sort(),
      qrSlots: w.qrSlots,
      fonts: [...new Set([...w.faces.values()].map((f) => f.family))].sort(),
      objects: w.objects,
      width: designSize.width,
      height: designSize.height,
    },
  };
}
