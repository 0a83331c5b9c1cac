/**
 * The built-in letter: the default creative template, a Fabric canvas like any customer's
 * (stored with the others as the read-only template `builtin-letter`). One A4 page addressed for
 * a window envelope, the campaign message, a call to action with the recipient's phone number
 * and the QR code of their tracking URL. Canvas pixels at 96 per inch (794 × 1123 is A4).
 */
import type { TemplatePage } from '../../../contract/creative-templates';

export const BUILTIN_TEMPLATE_ID = 'builtin-letter';

const INK = '#1f2933';
const BRAND = '#0b5cab';
const MUTED = '#52606d';

const text = (o: Record<string, unknown>) => ({
  type: 'Textbox',
  originX: 'left',
  originY: 'top',
  left: 76,
  width: 642,
  fontFamily: 'Arimo',
  fontSize: 14.7,
  lineHeight: 1.3,
  fill: INK,
  ...o,
});

export const BUILTIN_LETTER: { name: string; page: TemplatePage; canvas: Record<string, unknown> } = {
  name: 'Letter (built-in)',
  page: { size: 'A4', orientation: 'portrait' },
  canvas: {
    version: '7.4.0',
    width: 794,
    height: 1123,
    background: '#ffffff',
    objects: [
      text({ name: 'brand', top: 68, text: '{{companyName}}', fontSize: 26.7, fontWeight: 'bold', fill: BRAND }),
      text({ name: 'industry', top: 104, text: '{{industry}}', fontSize: 12, fill: MUTED }),
      text({ name: 'address', top: 170, width: 340, text: '{{addressBlock}}' }),
      text({ name: 'greeting', top: 404, text: '{{greeting}}', fontWeight: 'bold' }),
      text({ name: 'message', top: 436, text: '{{message}}', fontSize: 13.3, lineHeight: 1.35 }),
      {
        type: 'Rect',
        name: 'call-to-action',
        originX: 'left',
        originY: 'top',
        left: 76,
        top: 860,
        width: 642,
        height: 170,
        rx: 11,
        ry: 11,
        fill: '',
        stroke: BRAND,
        strokeWidth: 2.3,
      },
      {
        type: 'Rect',
        name: 'qr',
        originX: 'left',
        originY: 'top',
        left: 96,
        top: 873,
        width: 144,
        height: 144,
        fill: '#ffffff',
      },
      text({ name: 'cta', left: 268, top: 890, width: 430, text: 'Scan the code or call us:' }),
      text({
        name: 'phone',
        left: 268,
        top: 916,
        width: 430,
        text: '{{phoneNumber}}',
        fontSize: 18.7,
        fontWeight: 'bold',
      }),
      text({ name: 'url', left: 268, top: 950, width: 430, text: '{{trackingUrl}}', fontSize: 10.7, fill: MUTED }),
      {
        type: 'Rect',
        name: 'rule',
        originX: 'left',
        originY: 'top',
        left: 76,
        top: 1062,
        width: 642,
        height: 1,
        fill: '#cbd2d9',
        strokeWidth: 0,
      },
      text({
        name: 'footer',
        top: 1070,
        text: '{{companyName}} · Ref. {{trackingId}}',
        fontSize: 10.7,
        fill: '#7b8794',
      }),
    ],
  },
};
