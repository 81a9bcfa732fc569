import { z } from 'zod';

/**
 * One setting of a config, declared once: its schema (with its default, when it has one), what it means (the
 * CLI's help text and the JSON Schema's description), the name of its value in the CLI's help (`--budget <B>`)
 * and an older name still accepted (a documented alias). Its key is its name everywhere: in the library's
 * config, in study files, and on the command line in kebab case (`dModel` is `--d-model`).
 */
export interface Setting<S extends z.ZodType = z.ZodType> {
  readonly schema: S;
  readonly doc: string;
  /** The value's name in the CLI's help; unset for on/off flags without a value. */
  readonly arg?: string;
  /** A second accepted name (study files, CLI flags), mapped to the key before validation. */
  readonly alias?: string;
}

/** A config's settings by key. */
export type SettingsTable = Readonly<Record<string, Setting>>;

/** The zod object shape of a table: each key's schema, described. */
export type SettingsShape<T extends SettingsTable> = { -readonly [K in keyof T]: T[K]['schema'] };

/** A schema without its default, optional: for settings that "unset" means "as the rung/arm/study says". */
export type Unset<S extends z.ZodType> = S extends z.ZodDefault<infer I> ? z.ZodOptional<I> : z.ZodOptional<S>;

/** Declares one setting (a typed identity, so a table keeps each schema's type). */
export const setting = <S extends z.ZodType>(s: Setting<S>): Setting<S> => s;

/** The zod shape of a table's settings, each schema described by its doc (the JSON Schema's description). */
export function settingsShape<T extends SettingsTable>(table: T): SettingsShape<T> {
  return Object.fromEntries(Object.entries(table).map(([k, s]) => [k, s.schema.describe(s.doc)])) as SettingsShape<T>;
}

/** The table's settings named in `keys`, in that order. */
export function pickSettings<T extends SettingsTable, K extends keyof T & string>(
  table: T,
  keys: readonly K[],
): { readonly [P in K]: T[P] } {
  return Object.fromEntries(keys.map((k) => [k, table[k]])) as { readonly [P in K]: T[P] };
}

/** The same settings with no default, each optional (unset: someone else's default applies). */
export function unsetSettings<T extends SettingsTable>(
  table: T,
): { readonly [K in keyof T]: Setting<Unset<T[K]['schema']>> } {
  return Object.fromEntries(
    Object.entries(table).map(([k, s]) => {
      const inner = s.schema instanceof z.ZodDefault ? (s.schema.unwrap() as z.ZodType) : s.schema;
      return [k, { ...s, schema: inner instanceof z.ZodOptional ? inner : inner.optional() }];
    }),
  ) as { readonly [K in keyof T]: Setting<Unset<T[K]['schema']>> };
}

/** Every default of a table (settings without one are absent), frozen. */
export function settingDefaults<T extends SettingsTable>(table: T): Readonly<z.output<z.ZodObject<SettingsShape<T>>>> {
  return Object.freeze(z.object(settingsShape(table)).parse({})) as Readonly<z.output<z.ZodObject<SettingsShape<T>>>>;
}

/** The aliases of some tables, alias -> key. */
export function settingAliases(...tables: SettingsTable[]): Readonly<Record<string, string>> {
  return Object.fromEntries(
    tables.flatMap((t) => Object.entries(t).flatMap(([k, s]) => (s.alias ? [[s.alias, k]] : []))),
  );
}

/**
 * `input` with each alias renamed to its key. A value given under both names keeps the key's and is reported to
 * `conflict(alias, key)`. Non-objects pass unchanged, for the schema to refuse.
 */
export function renameAliases(
  input: unknown,
  aliases: Readonly<Record<string, string>>,
  conflict: (alias: string, key: string) => void = () => {},
): unknown {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return input;
  const raw = input as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    const key = aliases[k];
    if (key === undefined) out[k] = v;
    else if (raw[key] !== undefined && v !== undefined) conflict(k, key);
    else if (v !== undefined) out[key] = v;
  }
  return out;
}

/** A key as a command-line flag: `dModel` -> `--d-model`. */
export const flagName = (key: string): string => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
