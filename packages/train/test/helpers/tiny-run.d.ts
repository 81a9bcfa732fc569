import type { TrainableLM } from '@tarm/core';
import type { EvalRecord } from '../../src/index.js';
import type { RunConfig, TrainSettings } from '../../src/node/index.js';
export function tinyRunConfig(train?: Partial<TrainSettings>): RunConfig;
export function createFromConfig(config: RunConfig): TrainableLM;
export function tinyEvaluate(model: TrainableLM, step: number, taskName?: string, L?: number): Promise<EvalRecord>;
