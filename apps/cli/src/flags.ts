import { Option, type Command } from 'commander';
import { z } from 'zod';
import { flagName, settingAliases, type Setting, type SettingsTable } from '@tarm/core/internal';
import { UsageError } from './errors.js';

/*
 * Command-line flags made from the settings tables (@tarm/core `Setting`: MODEL_SETTINGS, TRAIN_SETTINGS,
 * EVAL_SETTINGS, the study's config): each setting's flag is its key in kebab case, its help its doc, its default
 * and its check its schema's. Flags arrive as strings and are read by the kind of value the schema takes.
 */

type Kind = 'number' | 'boolean' | 'array' | 'object' | 'enum' | 'text';

interface Def {
  type: string;
  innerType?: z.ZodType;
  element?: z.ZodType;
  shape?: Record<string, unknown>;
  entries?: Record<string, string>;
}
const defOf = (s: z.ZodType) => (s as unknown as { _zod: { def: Def } })._zod.def;

/** The schema under its default / optional wrappers. */
function core(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (let d = defOf(s); (d.type === 'default' || d.type === 'optional') && d.innerType; d = defOf(s)) s = d.innerType;
  return s;
}

function kindOf(schema: z.ZodType): Kind {
  const t = defOf(core(schema)).type;
  return t === 'number' || t === 'boolean' || t === 'array' || t === 'object' || t === 'enum' ? t : 'text';
}

const numberOrText = (s: string): unknown => (s.trim() !== '' && Number.isFinite(Number(s)) ? Number(s) : s);

/**
 * A flag's string as the value its schema takes; left as it is where it cannot be read, for the schema to say
 * why (a malformed `key=value` list is refused here, naming its keys).
 */
function fromFlag(key: string, schema: z.ZodType, s: string): unknown {
  const c = core(schema);
  switch (kindOf(c)) {
    case 'number':
    case 'text':
      return numberOrText(s);
    case 'boolean':
      if (s === 'on' || s === 'true') return true;
      if (s === 'off' || s === 'false') return false;
      throw new UsageError(`invalid ${flagName(key)}: got ${JSON.stringify(s)}; allowed: on, off`);
    case 'array':
      return s.split(',').map((x) => fromFlag(key, defOf(c).element!, x.trim()));
    case 'object': {
      const pairs = s
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)
        .map((p) => p.split('='));
      if (pairs.length === 0 || pairs.some((p) => p.length !== 2 || !p[0] || !p[1])) {
        const keys = Object.keys(defOf(c).shape ?? {});
        throw new UsageError(
          `invalid ${flagName(key)}: got ${JSON.stringify(s)}; allowed: comma-separated key=value pairs (keys: ${keys.join(', ')})`,
        );
      }
      const value = (v: string) => (v === 'true' ? true : v === 'false' ? false : numberOrText(v));
      return Object.fromEntries(pairs.map(([k, v]) => [k!, value(v!)]));
    }
    default:
      return s;
  }
}

/** The name of a flag's value in the help: the setting's, else one read from its schema. */
function argOf(s: Setting): string {
  if (s.arg) return s.arg;
  const k = kindOf(s.schema);
  return k === 'boolean' ? 'on|off' : k === 'object' ? 'key=value,...' : k === 'array' ? 'list' : 'value';
}

/** A setting's help: its doc, and for a choice the values allowed. */
function helpOf(s: Setting): string {
  const c = core(s.schema);
  return kindOf(c) === 'enum' ? `${s.doc}: ${Object.values(defOf(c).entries ?? {}).join(' | ')}` : s.doc;
}

/** A value as it is typed on the command line (`10,20` for a list, `on` for true). */
export function flagText(v: unknown): string {
  if (Array.isArray(v)) return v.map(flagText).join(',');
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  if (v && typeof v === 'object')
    return Object.entries(v)
      .map(([k, x]) => `${k}=${String(x)}`)
      .join(',');
  return String(v);
}

/** The schema's default; undefined where it has none. */
function defaultOf(schema: z.ZodType): unknown {
  const r = schema.safeParse(undefined);
  return r.success ? r.data : undefined;
}

/**
 * Adds one flag per setting to a command, with the setting's help and (`defaults`) its default shown; an alias is
 * a hidden flag of its own, folded in by {@link typedFlags}.
 */
export function addSettingFlags(
  cmd: Command,
  table: SettingsTable,
  { defaults = true, help = (s: Setting) => helpOf(s) }: { defaults?: boolean; help?: (s: Setting) => string } = {},
): Command {
  for (const [key, s] of Object.entries(table)) {
    const o = new Option(`${flagName(key)} <${argOf(s)}>`, help(s));
    const d = defaults ? defaultOf(s.schema) : undefined;
    if (d !== undefined) o.default(flagText(d));
    cmd.addOption(o);
    if (s.alias) cmd.addOption(new Option(`${flagName(s.alias)} <${argOf(s)}>`).hideHelp());
  }
  return cmd;
}

/**
 * Flags (commander's strings, or values from a run config) as the values the tables' schemas take, by the kind of
 * value each takes (number, on/off, comma list, key=value pairs); other keys pass unchanged. The schemas check
 * them after, so an error shows the value read.
 */
export function readFlags(raw: Record<string, unknown>, ...tables: SettingsTable[]): Record<string, unknown> {
  const out = { ...raw };
  for (const table of tables)
    for (const [k, s] of Object.entries(table))
      if (typeof out[k] === 'string') out[k] = fromFlag(k, s.schema, out[k] as string);
  return out;
}

/**
 * A command's options with every alias folded into its key (`--heads 4` is `--n-heads 4`), and the keys the user
 * typed (commander's 'cli' source; a typed alias counts as its key). Both names typed is a usage error.
 */
export function typedFlags(
  cmd: Command,
  options: Record<string, unknown>,
  ...tables: SettingsTable[]
): { raw: Record<string, unknown>; given: Set<string> } {
  const raw = { ...options };
  const given = new Set(Object.keys(options).filter((k) => cmd.getOptionValueSource(k) === 'cli'));
  for (const [alias, key] of Object.entries(settingAliases(...tables))) {
    if (given.has(alias)) {
      if (given.has(key)) throw new UsageError(`give ${flagName(key)} or its alias ${flagName(alias)}, not both`);
      raw[key] = raw[alias];
      given.add(key);
      given.delete(alias);
    }
    delete raw[alias];
  }
  return { raw, given };
}
