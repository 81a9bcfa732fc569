import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { StudyError } from './errors.js';
import { renameAliases, settingAliases } from '@tarm/core/internal';
import { defineStudy, STUDY_CONFIG_SETTINGS, type Study, type StudyConfig, type StudyInput } from './schema.js';

/** The study files shipped in `presets/`: `smoke` checks the pipeline, `cpu` the ladder at CPU scale, `paper` the published configuration, `attribution` ar-trm with one TRM fix per arm, `claims` the flat rungs on addition at the regime-matched horizon, `claims-b24` the nested rungs at the paper's budget 24. */
export const PRESET_NAMES = Object.freeze(['smoke', 'cpu', 'paper', 'attribution', 'claims', 'claims-b24'] as const);
export type PresetName = (typeof PRESET_NAMES)[number];

/** Path of a shipped preset file. */
export function presetPath(name: string): string {
  if (!(PRESET_NAMES as readonly string[]).includes(name))
    throw new StudyError(`unknown study preset ${JSON.stringify(name)}; known: ${PRESET_NAMES.join(', ')}`, 'preset');
  return fileURLToPath(new URL(`../presets/${name}.json`, import.meta.url));
}

/** The raw JSON of a study file; errors name the file. */
export function readStudyInput(path: string): StudyInput {
  if (!existsSync(path)) throw new StudyError(`${path}: no such study file`, 'config');
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as StudyInput;
  } catch (e) {
    throw new StudyError(`${path}: not valid JSON (${(e as Error).message})`, 'config');
  }
}

/** Command-line changes to a study file: each replaces the file's value (and, for a task setting, every task's own). */
export interface StudyOverrides {
  /** Keep these arms only (by name, in the file's order). */
  readonly arms?: readonly string[];
  /** Train these tasks (a task the file lists keeps its own settings). */
  readonly tasks?: readonly string[];
  readonly seeds?: readonly number[];
  readonly config?: Partial<{ -readonly [K in keyof StudyConfig]: StudyConfig[K] }>;
}

const TASK_FIELDS = ['length', 'steps', 'evalLengths'] as const;

/** The study input with the overrides applied (not yet validated). */
export function applyOverrides(input: StudyInput, o: StudyOverrides = {}): StudyInput {
  const out = structuredClone(input) as { -readonly [K in keyof StudyInput]: StudyInput[K] };
  if (o.arms !== undefined) {
    const known = (out.arms ?? []).map((a) => a.name);
    const unknown = o.arms.find((a) => !known.includes(a));
    if (unknown !== undefined || o.arms.length === 0)
      throw new StudyError(
        `--arms: ${unknown === undefined ? 'give at least one' : `unknown arm ${JSON.stringify(unknown)}`}; this study's arms: ${known.join(', ')}`,
        'arms',
      );
    out.arms = out.arms.filter((a) => o.arms!.includes(a.name));
  }
  if (o.tasks !== undefined)
    out.tasks = [...new Set(o.tasks)].map((name) => out.tasks?.find((t) => t.name === name) ?? { name });
  if (o.seeds !== undefined) out.seeds = [...new Set(o.seeds)];
  const config = Object.fromEntries(Object.entries(o.config ?? {}).filter(([, v]) => v !== undefined));
  if (Object.keys(config).length) {
    // the file's config with its aliases renamed (`batch`), so that a flag replaces the value under either name
    const base = renameAliases(out.config ?? {}, settingAliases(STUDY_CONFIG_SETTINGS)) as Record<string, unknown>;
    out.config = { ...base, ...config };
    // steps given on the command line also end the tasks' extension past them (maxSteps)
    const cleared = [...TASK_FIELDS.filter((f) => f in config), ...('steps' in config ? ['maxSteps'] : [])];
    out.tasks = out.tasks.map(
      (t) =>
        Object.fromEntries(Object.entries(t).filter(([k]) => !(cleared as readonly string[]).includes(k))) as typeof t,
    );
  }
  return out;
}

/**
 * A study from a file path or a preset name, with overrides: validated (StudyError naming the field) and frozen.
 * This is the resolved study a folder records.
 */
export function loadStudy(source: { preset?: string; file?: string }, overrides: StudyOverrides = {}): Study {
  if ((source.preset === undefined) === (source.file === undefined))
    throw new StudyError('give a study file (--config FILE) or a preset (--preset NAME), not both', 'config');
  const path = source.file ?? presetPath(source.preset!);
  return defineStudy(applyOverrides(readStudyInput(path), overrides), source.file ?? `preset ${source.preset}`);
}
