/**
 * Metadata sanitization: flat maps of primitive values with bounded size.
 * Bad entries are rejected with an issue each, never silently dropped, so callers learn what was wrong.
 */
import { z } from 'zod';
import { containsCardNumber } from './cards';
import { ValidationError } from './errors';
import type { Metadata } from './types';

/** Most keys a metadata map may have. */
export const METADATA_MAX_KEYS = 50;
/** Longest allowed key, in characters. */
export const METADATA_MAX_KEY_LENGTH = 128;
/** Longest allowed string value, in characters. */
export const METADATA_MAX_STRING_LENGTH = 1000;
/** Largest allowed size of the map serialized as JSON, in UTF-8 bytes (8 KiB). */
export const METADATA_MAX_BYTES = 8 * 1024;
/** Allowed key shape. */
export const METADATA_KEY_PATTERN = /^[A-Za-z0-9_]{1,128}$/;
/** Keys refused even though they match the pattern, because they can pollute prototypes downstream. */
export const METADATA_RESERVED_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

/** One problem found in a metadata map; `path` is relative to the map (`[key]`, or `[]` for the map itself). */
export interface MetadataIssue {
  path: string[];
  message: string;
}

/** Result of `checkMetadata`: the clean copy, or every problem found. */
export type MetadataCheck = { ok: true; metadata: Metadata } | { ok: false; issues: MetadataIssue[] };

/** Keeps a hostile multi-kilobyte key out of issue paths and error messages. */
function keyForPath(key: string): string {
  return key.length > METADATA_MAX_KEY_LENGTH ? `${key.slice(0, METADATA_MAX_KEY_LENGTH)}…` : key;
}

/** UTF-8 byte length without TextEncoder or Buffer (neither is guaranteed in the workflow sandbox). */
function utf8Length(s: string): number {
  let bytes = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  return bytes;
}

/** Returns true for `{…}` literals and `Object.create(null)` maps, false for arrays, dates, class instances. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Checks a metadata map against every rule and returns a fresh, prototype-safe copy or all issues. */
export function checkMetadata(input: unknown): MetadataCheck {
  if (!isPlainObject(input)) {
    return {
      ok: false,
      issues: [{ path: [], message: 'must be an object of string, number or boolean values' }],
    };
  }
  const keys = Object.keys(input);
  // Checked first so a map with a million keys costs one issue, not a million.
  if (keys.length > METADATA_MAX_KEYS) {
    return {
      ok: false,
      issues: [{ path: [], message: `must have at most ${METADATA_MAX_KEYS} keys (got ${keys.length})` }],
    };
  }
  const issues: MetadataIssue[] = [];
  const entries: [string, string | number | boolean][] = [];
  for (const key of keys) {
    const path = [keyForPath(key)];
    if (METADATA_RESERVED_KEYS.includes(key)) {
      issues.push({ path, message: `key "${key}" is reserved and not allowed` });
      continue;
    }
    if (!METADATA_KEY_PATTERN.test(key)) {
      issues.push({
        path,
        message: `keys must be 1-${METADATA_MAX_KEY_LENGTH} characters of letters, digits and _`,
      });
      continue;
    }
    const value = input[key];
    // Metadata travels in workflow history, the store and logs, where a card number must never be.
    if ((typeof value === 'string' || typeof value === 'number') && containsCardNumber(String(value))) {
      issues.push({
        path,
        message: 'values must not hold a card number (12-19 digits that pass the Luhn check)',
      });
      continue;
    }
    if (typeof value === 'string') {
      if (value.length > METADATA_MAX_STRING_LENGTH) {
        issues.push({
          path,
          message: `string values must be at most ${METADATA_MAX_STRING_LENGTH} characters`,
        });
        continue;
      }
    } else if (typeof value === 'number') {
      if (!Number.isFinite(value)) {
        issues.push({ path, message: 'numbers must be finite' });
        continue;
      }
    } else if (typeof value !== 'boolean') {
      const kind =
        value === null
          ? 'null'
          : Array.isArray(value)
            ? 'an array'
            : typeof value === 'object'
              ? 'an object'
              : typeof value;
      issues.push({ path, message: `values must be a string, number or boolean, not ${kind}` });
      continue;
    }
    entries.push([key, value]);
  }
  if (issues.length > 0) return { ok: false, issues };
  // Object.fromEntries defines own data properties, so no setter (like __proto__'s) can ever run.
  const metadata: Metadata = Object.fromEntries(entries);
  const bytes = utf8Length(JSON.stringify(metadata));
  if (bytes > METADATA_MAX_BYTES) {
    return {
      ok: false,
      issues: [
        { path: [], message: `must serialize to at most ${METADATA_MAX_BYTES} bytes of JSON (got ${bytes})` },
      ],
    };
  }
  return { ok: true, metadata };
}

/** Zod schema for a metadata map: reports every bad entry and outputs the sanitized copy. */
export const metadataSchema = z.unknown().transform((input, ctx): Metadata => {
  const result = checkMetadata(input);
  if (result.ok) return result.metadata;
  for (const issue of result.issues)
    ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
  return z.NEVER;
});

/** Sanitizes a standalone metadata map or throws a ValidationError with `metadata.<key>` paths. */
export function sanitizeMetadata(input: unknown): Metadata {
  const result = checkMetadata(input);
  if (result.ok) return result.metadata;
  throw new ValidationError(
    result.issues.map((i) => ({ path: ['metadata', ...i.path].join('.'), message: i.message })),
    'metadata',
  );
}
