/**
 * Text PostgreSQL cannot store, refused at the edge. Its text and jsonb types refuse U+0000
 * ("unsupported Unicode escape sequence") and a lone UTF-16 surrogate is not Unicode at all, so
 * either, anywhere in a request, would reach the database and come back as a 500. One check over
 * the parsed JSON body, the query string and the path answers 400 naming the first such field
 * instead, for every route at once, with the same body as a zod validation error.
 */
import type { RequestHandler } from 'express';
import { invalidInput } from '../services/errors';
import { formatPath, type FieldIssue } from '../lib/field-path';

// Without the `u` flag a regex sees UTF-16 code units, so an unpaired half of a pair matches.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why `s` cannot be stored, or null when it can. */
export function unstorable(s: string): string | null {
  if (s.includes('\u0000')) return 'contains U+0000 (NUL), which cannot be stored';
  if (LONE_SURROGATE.test(s)) return 'contains a lone UTF-16 surrogate, which is not valid Unicode';
  return null;
}

type Segment = string | number;

/**
 * The first unstorable string in a parsed JSON value (keys included), depth first in document
 * order. Iterative: a deeply nested body must not overflow the stack.
 */
export function findUnstorable(value: unknown, prefix: Segment[] = []): FieldIssue | null {
  const stack: Array<{ value: unknown; path: Segment[] }> = [{ value, path: prefix }];
  while (stack.length > 0) {
    const { value: v, path } = stack.pop()!;
    if (typeof v === 'string') {
      const why = unstorable(v);
      if (why) return { path: formatPath(path), message: why };
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], path: [...path, i] });
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v);
      for (const [key] of entries) {
        const why = unstorable(key);
        // The key itself cannot be shown safely, so the object holding it is named.
        if (why) return { path: formatPath(path), message: `a property name ${why}` };
      }
      for (let i = entries.length - 1; i >= 0; i--)
        stack.push({ value: entries[i][1], path: [...path, entries[i][0]] });
    }
  }
  return null;
}

/**
 * Path parameters are only parsed when a route matches, after this guard; a decoded segment is
 * named by the `:param` the route table gives it at that position (else `path`).
 */
function pathIssue(path: string, routes: readonly string[]): FieldIssue | null {
  const segments = path.split('/');
  for (let i = 0; i < segments.length; i++) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segments[i]);
    } catch {
      continue; // Express answers malformed escapes itself
    }
    const why = unstorable(decoded);
    if (!why) continue;
    const route = routes
      .map((r) => r.split('/'))
      .find(
        (r) => r.length === segments.length && r.every((s, j) => s.startsWith(':') || s === segments[j] || j === i),
      );
    const name = route?.[i]?.startsWith(':') ? route[i].slice(1) : 'path';
    return { path: name, message: why };
  }
  return null;
}

/** 400 `validation_error` for the first unstorable string in the body, the query or the path. */
export function refuseUnstorableText(routes: readonly string[]): RequestHandler {
  return (req, _res, next) => {
    const issue = pathIssue(req.path, routes) ?? findUnstorable(req.query ?? {}) ?? findUnstorable(req.body);
    next(issue ? invalidInput([issue]) : undefined);
  };
}
