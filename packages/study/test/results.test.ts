import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectResults, readCurve, readResults, StudyResultsSchema } from '../src/results.js';
import { copyFixtureStudy, tempDir } from './helpers.js';

describe('collectResults on the fixture study', () => {
  const dir = copyFixtureStudy();
  const results = collectResults(dir);
  const run = (id: string) => results.runs.find((r) => r.id === id)!;

  it('writes a valid, versioned results.json that reads back', () => {
    expect(existsSync(join(dir, 'results.json'))).toBe(true);
    expect(StudyResultsSchema.safeParse(JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'))).success).toBe(
      true,
    );
    expect(readResults(dir)).toEqual(results);
    expect(results).toMatchObject({
      schema: 'tarm-study-results',
      version: 2,
      study: { name: 'mini' },
      wallSeconds: 630.5,
    });
    expect(results.sessions).toHaveLength(2);
  });

  it('reads a version-1 study.json (a preset of rungs) as a study whose arms are its rungs', () => {
    expect(results.study.arms).toEqual([
      { name: 'dense', rung: 'dense' },
      { name: 'ut', rung: 'ut' },
      { name: 'dual-ut', rung: 'dual-ut' },
    ]);
    expect(results.study.tasks).toEqual([{ name: 'addition' }, { name: 'copy' }]);
    expect(results.sessions[0]).toMatchObject({ backend: 'wasm', workers: 2, threads: 1 });
  });

  it("lists the study's runs by task, arm, then seed; folders outside the study are not runs of it", () => {
    // 3 arms x 2 tasks x 2 seeds; runs/iterative-copy-s1 and runs/notes are not in the study file
    expect(results.runs).toHaveLength(12);
    expect(results.runs.slice(0, 6).map((r) => r.id)).toEqual([
      'dense-addition-s1',
      'dense-addition-s2',
      'ut-addition-s1',
      'ut-addition-s2',
      'dual-ut-addition-s1',
      'dual-ut-addition-s2',
    ]);
    expect(results.runs.map((r) => r.id)).not.toContain('iterative-copy-s1');
    expect(results.runs[0]).toMatchObject({ arm: 'dense', rung: 'dense', task: 'addition', seed: 1 });
  });

  it('derives each status from the folder', () => {
    expect(run('dense-addition-s1').status).toBe('finished');
    expect(run('ut-addition-s2').status).toBe('incomplete');
    expect(run('ut-copy-s1').status).toBe('failed');
    expect(run('ut-copy-s1').error).toBe('Error: out of memory');
    expect(run('dual-ut-copy-s2').status).toBe('pending');
  });

  it('reads summary.json defensively, falling back to metrics.jsonl', () => {
    expect(run('dense-addition-s1')).toMatchObject({
      params: 28000,
      blockPasses: 6,
      tokensPerSecond: 4100.5,
      wallSeconds: 61.2,
      lastStep: 100,
    });
    expect(run('dense-addition-s1').final['10']!.charAcc).toBe(0.8);
    // fields nested under `result`, final metrics from the last evaluation line
    expect(run('dense-addition-s2')).toMatchObject({ params: 28000, tokensPerSecond: 3900, wallSeconds: 59 });
    expect(run('dense-addition-s2').final['10']!.charAcc).toBe(0.84);
    // torn last metrics line ignored
    expect(run('ut-addition-s1').final['10']!.charAcc).toBe(0.66);
    expect(run('ut-addition-s1').curve.map((p) => p.step)).toEqual([50, 100]);
    // NaN written as null survives as null
    expect(run('dual-ut-addition-s1').final['10']!.quartiles).toEqual([0.97, 0.98, null, 0.6]);
    // the CPU kind, where summary.json records it
    expect(run('dense-addition-s1').cpu).toBe('Test CPU (avx2)');
    expect(run('dense-addition-s2').cpu).toBeUndefined();
    // the run config is kept as written
    expect(run('dense-addition-s1').config).toMatchObject({ task: 'addition', seed: 1 });
  });

  it('readCurve keeps evaluation lines only, one per step, in step order', () => {
    const curve = readCurve(join(dir, 'runs', 'dense-addition-s1', 'metrics.jsonl'));
    expect(curve.map((p) => p.step)).toEqual([50, 100]);
    expect(curve[0]).toMatchObject({ loss: 1.5, wallSeconds: 25 });
    expect(readCurve(join(dir, 'nope.jsonl'))).toEqual([]);
  });

  it('refuses a folder that is not a study', () => {
    expect(() => collectResults(tempDir())).toThrow(/not a study folder/);
  });
});
