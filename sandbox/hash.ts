/** A stable number for a text, so the stand-ins' "random" answers and faults repeat run after run. */

/** FNV-1a, 32 bit, over the text, mapped to [0, 1). */
export function unitHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) / 0x1_0000_0000;
}
