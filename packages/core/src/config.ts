import type { z } from 'zod';
import { ConfigError } from './errors.js';

/** Deeply freezes a plain JSON value so a resolved config cannot be changed after validation. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}

function describeAllowed(issue: z.core.$ZodIssue): string {
  const i = issue as unknown as Record<string, unknown>;
  switch (issue.code) {
    case 'invalid_value':
      return (i.values as unknown[]).map((v) => JSON.stringify(v)).join(', ');
    case 'too_small':
      return `${i.inclusive === false ? '>' : '>='} ${String(i.minimum)}`;
    case 'too_big':
      return `${i.inclusive === false ? '<' : '<='} ${String(i.maximum)}`;
    case 'invalid_type':
      return `a value of type ${String(i.expected)}`;
    case 'unrecognized_keys':
      return 'no such key';
    default:
      return issue.message;
  }
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let v: unknown = input;
  for (const k of path) v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

/**
 * Builds a `define...` function from a zod schema: it validates (unknown keys are rejected when the schema is
 * strict), throws a {@link ConfigError} naming the first bad field and the allowed values, and returns a
 * deeply frozen, JSON-serialisable config.
 */
export function configDefiner<S extends z.ZodType>(
  schema: S,
  prefix = '',
): (input: z.input<S>) => Readonly<z.output<S>> {
  return (input) => {
    const parsed = schema.safeParse(input);
    if (!parsed.success) {
      // an unknown key first: a misspelt key also leaves its field missing, and the typo is what to fix
      const issue = parsed.error.issues.find((i) => i.code === 'unrecognized_keys') ?? parsed.error.issues[0]!;
      if (issue.code === 'unrecognized_keys') {
        const key = (issue as unknown as { keys: string[] }).keys[0]!;
        throw new ConfigError(
          prefix + [...issue.path, key].join('.'),
          'a known key (remove it)',
          valueAt(input, [...issue.path, key]),
        );
      }
      const field = prefix + issue.path.join('.');
      throw new ConfigError(field || '(config)', describeAllowed(issue), valueAt(input, issue.path));
    }
    return deepFreeze(structuredClone(parsed.data)) as Readonly<z.output<S>>;
  };
}
