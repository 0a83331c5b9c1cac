/**
 * Zod's messages in plain words (contract/field-messages.ts) for every issue a schema has no
 * message of its own for: "Name must not be empty." instead of "Too small: expected string to
 * have >=1 characters". Installed once per process by importing this module (the API app and the
 * worker do).
 */
import { z } from 'zod';
import { fieldLabel, fieldMessage, type FieldRule } from '../contract/field-messages';

type Issue = Parameters<NonNullable<NonNullable<Parameters<typeof z.config>[0]>['customError']>>[0];

/** The rule a zod issue says was broken, or undefined to keep zod's own message. */
export function ruleOf(iss: Issue): FieldRule | undefined {
  const i = iss as Issue & {
    expected?: string;
    minimum?: number | bigint;
    maximum?: number | bigint;
    inclusive?: boolean;
    origin?: string;
    format?: string;
    pattern?: string;
    values?: unknown[];
    keys?: string[];
  };
  const unit = i.origin === 'array' || i.origin === 'set' ? ('entry' as const) : ('character' as const);
  switch (i.code) {
    case 'invalid_type':
      return i.input === undefined ? { kind: 'required' } : { kind: 'type', expected: String(i.expected) };
    case 'too_small':
      return i.origin === 'string' || i.origin === 'array' || i.origin === 'set'
        ? { kind: 'too_short', minimum: Number(i.minimum), unit }
        : { kind: 'too_small', minimum: Number(i.minimum), inclusive: i.inclusive !== false };
    case 'too_big':
      return i.origin === 'string' || i.origin === 'array' || i.origin === 'set'
        ? {
            kind: 'too_long',
            maximum: Number(i.maximum),
            unit,
            ...(typeof i.input === 'string' || Array.isArray(i.input) ? { actual: i.input.length } : {}),
          }
        : { kind: 'too_big', maximum: Number(i.maximum), inclusive: i.inclusive !== false };
    case 'invalid_format':
      return { kind: 'format', format: String(i.format), ...(i.pattern ? { pattern: String(i.pattern) } : {}) };
    case 'invalid_value':
      return i.values?.length ? { kind: 'one_of', options: i.values } : undefined;
    case 'unrecognized_keys':
      return { kind: 'unknown_keys', keys: i.keys ?? [] };
    default:
      return undefined;
  }
}

z.config({
  customError: (iss) => {
    const rule = ruleOf(iss);
    return rule ? fieldMessage(fieldLabel(iss.path ?? []), rule) : undefined;
  },
});
