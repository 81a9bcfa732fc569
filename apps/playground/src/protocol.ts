/**
 * Messages between the page (main.ts) and the training worker (worker.ts). Everything here is plain JSON
 * (structured-clone safe) and imports no tfjs, so the page bundle stays small.
 */
import type { RungName } from '@tarm/recursion';

export type TaskName = 'copy' | 'reverse' | 'addition';
export type BackendChoice = 'wasm' | 'webgpu' | 'cpu';

/** What the form sets: the model (rung, width, heads, budget) and how to train it. */
export interface PlaygroundConfig {
  readonly task: TaskName;
  readonly model: RungName;
  readonly dModel: number;
  readonly nHeads: number;
  /** Block passes per forward pass (the compute budget B). */
  readonly budget: number;
  /** Problem length L of the training stream. */
  readonly length: number;
  /** Total optimizer steps. */
  readonly steps: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly evalEvery: number;
  readonly seed: number;
}

/**
 * Small defaults that learn in seconds: dual-ut, C 32, 2 heads, budget 4, reverse at L 4 (100% after ~100 steps).
 * Addition at this size needs thousands of steps (the paper's last-digit phase transition).
 */
export const DEFAULT_CONFIG: PlaygroundConfig = Object.freeze({
  task: 'reverse',
  model: 'dual-ut',
  dModel: 32,
  nHeads: 2,
  budget: 4,
  length: 4,
  steps: 400,
  batchSize: 32,
  lr: 3e-3,
  evalEvery: 20,
  seed: 1337,
});

/** Problems per evaluation (greedy decoding of the fixed evaluation set at the training length). */
export const EVAL_PROBLEMS = 50;

export interface ScheduleInfo {
  readonly steps: number;
  readonly H: number;
  readonly L: number;
  readonly passesPerStep: number;
  readonly blockPasses: number;
}

export interface ModelSummary {
  readonly params: number;
  readonly schedule: ScheduleInfo;
  readonly rung: {
    readonly tied: boolean;
    readonly dualStream: boolean;
    readonly nested: boolean;
    readonly halting: 'none' | 'act' | 'binary';
  };
}

export interface EvalPoint {
  readonly step: number;
  readonly charAcc: number;
  readonly exactMatch: number;
}

export interface History {
  readonly loss: { step: number; value: number }[];
  readonly evals: EvalPoint[];
}

/** One y/h pass's readout decoded at the position being generated. */
export interface PassReadout {
  readonly passIndex: number;
  readonly step: number;
  readonly cycle: number;
  /** The character of argmax(readout(head, state)) at the last position ('\n' ends the answer). */
  readonly char: string;
}

/** Everything the page needs to draw one answer position of the refinement grid. */
export interface PositionTrace {
  /** 0-based index of the answer character. */
  readonly position: number;
  /** The character the model emitted (argmax of its real logits). */
  readonly char: string;
  readonly readouts: readonly PassReadout[];
  /** Outer steps the forward pass ran (the loop stops early only once every position halted). */
  readonly stepsRun: number;
  readonly passesRun: number;
  /** Halting rungs: steps this position ran before it halted; later passes do not change its answer. */
  readonly haltStep?: number;
}

export interface SavedModelInfo {
  readonly name: string;
  readonly savedAt: string;
  readonly bytes: number;
  readonly step: number;
  readonly config: PlaygroundConfig;
}

export type Request =
  | { type: 'init'; backend: BackendChoice }
  | { type: 'describe'; config: PlaygroundConfig }
  | { type: 'train'; config: PlaygroundConfig }
  | { type: 'pause' }
  | { type: 'reset' }
  | { type: 'decode'; prompt: string; maxTokens: number; delayMs: number }
  | { type: 'save'; name: string }
  | { type: 'load'; name: string }
  | { type: 'list' }
  | { type: 'delete'; name: string };

export type TrainState = 'empty' | 'training' | 'paused' | 'done';

export type WorkerEvent =
  | { type: 'ready'; backend: BackendChoice; detail: string }
  | { type: 'error'; where: string; message: string }
  | { type: 'described'; config: PlaygroundConfig; summary?: ModelSummary; error?: string }
  | { type: 'model'; config: PlaygroundConfig; summary: ModelSummary }
  | { type: 'state'; state: TrainState; step: number }
  | { type: 'step'; step: number; loss: number; tokensPerSecond: number; passes?: number }
  | { type: 'eval'; point: EvalPoint; examples: readonly { prompt: string; answer: string; prediction: string }[] }
  | { type: 'decode-start'; prompt: string; summary: ModelSummary }
  | { type: 'token'; trace: PositionTrace }
  | { type: 'decode-end'; answer: string }
  | { type: 'saved'; info: SavedModelInfo }
  | { type: 'models'; list: SavedModelInfo[]; usage?: number; quota?: number }
  | { type: 'loaded'; info: SavedModelInfo; summary: ModelSummary; history: History }
  | { type: 'storage-error'; message: string };
