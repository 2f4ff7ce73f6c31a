/**
 * The one loader of settings: a section is a zod object whose fields carry `.meta({ doc, env? })`; its
 * values come from code, the environment (the field's `env` variable) and a JSON settings file, in that
 * order of precedence, over the schema's defaults. Every bad field is reported at once, named by where
 * its value came from: the variable for the environment, the field and file for the file.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { ValidationError, type ValidationIssue } from '../domain/errors';
import { zodIssuesToValidationIssues } from '../domain/validation';

/** What a setting says of itself: shown in the docs table, and its variable read by the loader. */
export interface SettingMeta {
  doc: string;
  /** The default as the docs show it, when the schema's own default says too little. */
  shownDefault?: string;
  /** The environment variable that sets it. */
  env?: string;
  /** An empty variable is a value (e.g. an empty file name for "none"), not unset. */
  keepEmpty?: boolean;
}

/** One section of the settings: its key in a settings file, its schema, and its name in errors. */
export interface SettingsSection<S extends z.ZodObject = z.ZodObject> {
  /** Key of this section in a settings file (`{ "worker": { … } }`). */
  key: string;
  /** Name in error messages, e.g. `worker settings`. */
  what: string;
  schema: S;
}

/** Where a section's values come from; each is optional. */
export interface SettingsSources {
  /** Values given in code: they win over everything else. */
  code?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  /** A JSON settings file, or its contents already read (temporal-dev.yml): its section's values. */
  file?: string | { path: string; values: Record<string, unknown> };
}

/** The environment variable that names the settings file of every section. */
export const SETTINGS_FILE_ENV = 'AEGISPAY_CONFIG_FILE';

type Layer = { source: string; values: Record<string, unknown> };
type Shape = Record<string, z.ZodType>;

/** The setting's own meta (doc, env), from the field or the schema it wraps. */
export function settingMeta(schema: z.ZodType): SettingMeta | undefined {
  for (let s: z.ZodType | undefined = schema; s; s = wrapped(s)) {
    const meta = z.globalRegistry.get(s) as SettingMeta | undefined;
    if (meta?.doc || meta?.env) return meta;
  }
  return undefined;
}

/** The schema inside an optional, default, nullable or pipe (its input side). */
function wrapped(schema: z.ZodType): z.ZodType | undefined {
  const def = schema._zod.def as { type: string; innerType?: z.ZodType; in?: z.ZodType };
  if (def.type === 'pipe') return def.in;
  return ['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch'].includes(def.type)
    ? def.innerType
    : undefined;
}

/** The fields of a nested section (an object field without a variable of its own), else undefined. */
export function nestedShape(schema: z.ZodType): Shape | undefined {
  if (settingMeta(schema)?.env) return undefined;
  let s: z.ZodType | undefined = schema;
  while (s && s._zod.def.type !== 'object') s = wrapped(s);
  return (s as z.ZodObject | undefined)?.shape as Shape | undefined;
}

function baseType(schema: z.ZodType): string {
  let s = schema;
  for (let inner = wrapped(s); inner; inner = wrapped(s)) s = inner;
  return s._zod.def.type;
}

/** A variable's text as the field's type: numbers, booleans, comma lists, JSON objects; else the text. */
function fromText(text: string, schema: z.ZodType): { value: unknown } | { problem: string } {
  const type = baseType(schema);
  if (type === 'number') {
    const n = Number(text);
    return text !== '' && Number.isFinite(n) ? { value: n } : { problem: 'must be a number' };
  }
  if (type === 'boolean') {
    if (['true', '1'].includes(text)) return { value: true };
    if (['false', '0'].includes(text)) return { value: false };
    return { problem: 'must be true, false, 1 or 0' };
  }
  if (type === 'array')
    return {
      value: text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    };
  if (['object', 'record', 'union', 'intersection'].includes(type)) {
    try {
      return { value: JSON.parse(text) as unknown };
    } catch {
      return { problem: 'must be valid JSON' };
    }
  }
  return { value: text };
}

/** The values the environment gives the section's fields, and the problems of unreadable ones. */
function envLayer(shape: Shape, env: NodeJS.ProcessEnv, issues: ValidationIssue[]): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(shape)) {
    const nested = nestedShape(schema);
    if (nested) {
      const inner = envLayer(nested, env, issues);
      if (Object.keys(inner).length > 0) values[key] = inner;
      continue;
    }
    const meta = settingMeta(schema);
    const name = meta?.env;
    const text = name ? env[name]?.trim() : undefined;
    if (!name || text === undefined || (text === '' && !meta.keepEmpty)) continue;
    const read = fromText(text, schema);
    if ('problem' in read) issues.push({ path: name, message: read.problem });
    else values[key] = read.value;
  }
  return values;
}

function fileLayer(section: SettingsSection, file: NonNullable<SettingsSources['file']>): Layer {
  if (typeof file !== 'string') return { source: file.path, values: file.values };
  const path = resolve(file);
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    // JSON.parse's message quotes the text around the error, which may be a secret: only say what failed.
    const message =
      err instanceof SyntaxError
        ? 'is not valid JSON'
        : `cannot be read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`;
    throw new ValidationError([{ path, message }], section.what);
  }
  const values = (doc as Record<string, unknown> | null)?.[section.key] ?? {};
  if (!isPlainObject(values)) {
    throw new ValidationError(
      [{ path: `${section.key} in ${path}`, message: 'must be an object' }],
      section.what,
    );
  }
  return { source: path, values };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}

/**
 * Merges the layers (first wins) field by field along the section's nesting, and records where each
 * field's value came from (`sources`, keyed by its dotted path).
 */
function merge(
  shape: Shape,
  layers: Layer[],
  sources: Map<string, string>,
  prefix = '',
): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  const keys = new Set(layers.flatMap((l) => Object.keys(l.values)));
  for (const key of keys) {
    const present = layers.filter((l) => l.values[key] !== undefined);
    const nested = shape[key] && nestedShape(shape[key]);
    if (nested && present.length > 0 && present.every((l) => isPlainObject(l.values[key]))) {
      const inner = present.map((l) => ({
        source: l.source,
        values: l.values[key] as Record<string, unknown>,
      }));
      merged[key] = merge(nested, inner, sources, `${prefix}${key}.`);
    } else if (present[0]) {
      merged[key] = present[0].values[key];
      sources.set(`${prefix}${key}`, present[0].source);
    }
  }
  return merged;
}

/** The environment variable of the field at `path`, if it has one. */
function envOf(shape: Shape, path: readonly PropertyKey[]): string | undefined {
  const [head, ...rest] = path;
  const field = typeof head === 'string' ? shape[head] : undefined;
  if (!field) return undefined;
  const nested = nestedShape(field);
  return nested && rest.length > 0 ? envOf(nested, rest) : settingMeta(field)?.env;
}

/**
 * Names a bad field by where its value came from: its variable when the environment gave it (or gave
 * nothing for a field that has one), `field in <file>` for the file, the field itself for code.
 */
function blame(
  shape: Shape,
  path: readonly PropertyKey[],
  sources: Map<string, string>,
  envRead: boolean,
): string {
  const dotted = path.map(String);
  for (let n = dotted.length; n > 0; n--) {
    const source = sources.get(dotted.slice(0, n).join('.'));
    // Inside a variable's JSON value: the variable, then the path within it.
    const name = source === 'env' ? envOf(shape, path.slice(0, n)) : undefined;
    if (name) return [name, ...dotted.slice(n)].join('.');
    if (source === 'env' || source === 'code') return dotted.join('.');
    if (source) return `${dotted.join('.')} in ${source}`;
  }
  return (envRead && envOf(shape, path)) || dotted.join('.');
}

/**
 * Resolves a section from code, environment and file (code > env > file > default). Unknown variables
 * are ignored; a bad value anywhere throws one `ValidationError` naming every bad field by its source.
 */
export function loadSettings<S extends z.ZodObject>(
  section: SettingsSection<S>,
  sources: SettingsSources = {},
): z.output<S> {
  const shape = section.schema.shape as Shape;
  const issues: ValidationIssue[] = [];
  const layers: Layer[] = [];
  if (sources.code) layers.push({ source: 'code', values: sources.code });
  if (sources.env) layers.push({ source: 'env', values: envLayer(shape, sources.env, issues) });
  if (sources.file) layers.push(fileLayer(section, sources.file));
  const origins = new Map<string, string>();
  const input = merge(shape, layers, origins);
  const result = section.schema.safeParse(input);
  if (!result.success) {
    const named = result.error.issues.map((issue) => ({
      ...issue,
      path: [blame(shape, issue.path, origins, sources.env !== undefined)],
    }));
    // A variable already reported as unreadable is not reported again as missing.
    const unreadable = new Set(issues.map((i) => i.path));
    issues.push(...zodIssuesToValidationIssues(named).filter((i) => !unreadable.has(i.path)));
  }
  if (issues.length > 0) throw new ValidationError(issues, section.what);
  return result.data!;
}

/** The settings file the environment names (`AEGISPAY_CONFIG_FILE`), if any. */
export function settingsFileOf(env: NodeJS.ProcessEnv): string | undefined {
  return env[SETTINGS_FILE_ENV]?.trim() || undefined;
}
