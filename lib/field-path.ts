/** Where in a request (or a file's row) a problem is: `items[3].address.city`, and why. */
export interface FieldIssue {
  path: string;
  message: string;
  row?: number;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(root)';
}
