import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '@tarm/core';
import { adapter as cpu } from '@tarm/backend-cpu';
import { createModel, RUNG_NAMES, RUNGS, solveBudget, type RungName } from '@tarm/recursion';
import { decodeAnswers } from '@tarm/tasks';
import { buildGrid } from '../src/grid.js';
import { decodeWithTrace } from '../src/trace.js';
import type { PositionTrace } from '../src/protocol.js';

beforeAll(async () => {
  await useBackend(cpu);
});

const budgetFor = (model: RungName) => (RUNGS[model].nested ? 6 : 4);

describe('decodeWithTrace', () => {
  it.each(RUNG_NAMES)('%s: emits the greedy answer and one readout per y/h pass that ran', async (name) => {
    const model = createModel({ model: name, dModel: 16, nHeads: 2, budget: budgetFor(name), dropout: 0 }, 3);
    try {
      const prompt = '12+34=';
      const traces: PositionTrace[] = [];
      const answer = await decodeWithTrace(model, prompt, 4, (t) => void traces.push(t));
      const [greedy] = await decodeAnswers(model, [prompt], 4, { strategy: 'greedy' });
      expect(answer).toBe(greedy);
      const s = solveBudget(model.config);
      const perStep = model.rung.nested ? s.H : 1;
      for (const t of traces) {
        expect(t.readouts.length).toBe(t.stepsRun * perStep);
        expect(t.passesRun).toBe(t.stepsRun * s.passesPerStep);
        if (model.rung.halting === 'none') {
          expect(t.haltStep).toBeUndefined();
        } else {
          expect(t.haltStep).toBeGreaterThanOrEqual(1);
          expect(t.haltStep).toBeLessThanOrEqual(t.stepsRun);
        }
      }
      // Without halting the last pass IS the output, and a binary head reads the terminal y: the row where the
      // position halted must equal the emitted character.
      if (model.rung.halting === 'none' || model.rung.halting === 'binary') {
        const grid = buildGrid({ rung: model.rung, schedule: s }, traces);
        for (const c of grid.columns) expect(c.settledRow).not.toBeNull();
      }
    } finally {
      model.dispose();
    }
  });
});
