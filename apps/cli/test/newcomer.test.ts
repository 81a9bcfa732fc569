// Issue 30, "a newcomer's first hour": Ctrl-C within a step, --resume from the run folder alone, file-system
// errors as one line, resumes that say what they found, `tarm report` on a study folder without results.json.
import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAIN, tarm } from './tarm.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'tarm-cli-new-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const checkpointStep = (out: string): number =>
  JSON.parse(readFileSync(join(out, 'checkpoint', 'model.json'), 'utf8')).meta.step;
const STACK = /^\s+at /m;

/** `tarm ARGS` in the background: its stderr so far, its exit code, and a wait until stderr matches a pattern. */
function startTarm(args: readonly string[]) {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  const run = {
    child,
    stderr: '',
    exit: new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c))),
    /** Waits until stderr matches (at most `timeoutMs`); throws with stderr if the command exits first. */
    async until(pattern: RegExp, timeoutMs = Infinity): Promise<void> {
      const t0 = performance.now();
      while (!pattern.test(run.stderr) && performance.now() - t0 < timeoutMs) {
        if (child.exitCode !== null) throw new Error(run.stderr);
        await sleep(50);
      }
    },
  };
  child.stderr.on('data', (d) => (run.stderr += d));
  return run;
}

const tfjsNode = (() => {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node/package.json');
    return true;
  } catch {
    return false;
  }
})();

/** A tiny run (a second or two on cpu), for the commands that read one. */
const TINY = [
  '--model',
  'dense',
  '--task',
  'copy',
  '--length',
  '2',
  '--eval-lengths',
  '2',
  '--budget',
  '1',
  '--d-model',
  '8',
  '--heads',
  '1',
  '--batch',
  '2',
  '--eval-every',
  '2',
  '--eval-n',
  '2',
  '--backend',
  'cpu',
];

/**
 * Models whose training step takes roughly half a second to a second on each backend (2 busy cores): before the
 * loop yielded, a SIGINT waited for the next metrics write, every 10 steps, i.e. 5-10 s.
 */
const SLOW_STEP: Record<string, string[]> = {
  node: ['--d-model', '384', '--batch', '64'],
  wasm: ['--d-model', '160', '--batch', '64'],
  cpu: ['--d-model', '48', '--batch', '32'],
};

describe('Ctrl-C (SIGINT) and SIGTERM: within one training step, the run left resumable', () => {
  const backends = Object.keys(SLOW_STEP).filter((b) => b !== 'node' || tfjsNode);
  it.each(backends.flatMap((b) => [[b, 'SIGINT'] as const, ...(b === 'wasm' ? [[b, 'SIGTERM'] as const] : [])]))(
    '%s backend, %s: exits within 2 s with code 130; `tarm train --out DIR --resume --steps N` continues it',
    async (backend, signal) => {
      const out = join(tmp(), 'run');
      const args = [
        'train',
        '--model',
        'dense',
        '--task',
        'copy',
        '--length',
        '8',
        '--eval-lengths',
        '8',
        '--budget',
        '2',
        '--heads',
        '2',
        ...SLOW_STEP[backend]!,
      ];
      const run = startTarm([
        ...args,
        '--steps',
        '200',
        '--eval-every',
        '100',
        '--eval-n',
        '2',
        '--backend',
        backend,
        '--out',
        out,
      ]);
      await run.until(/step 1\/200/);
      await sleep(1500); // into the second or third step
      const sent = performance.now();
      run.child.kill(signal);
      const code = await run.exit;
      const seconds = (performance.now() - sent) / 1000;
      expect(code, run.stderr).toBe(130);
      expect(seconds, run.stderr).toBeLessThan(2);
      const stopped = Number(
        /stopped at step (\d+) of 200; continue with: tarm train --out \S+ --resume/.exec(run.stderr)?.[1],
      );
      expect(stopped).toBeGreaterThanOrEqual(1);
      expect(stopped).toBeLessThan(10); // not the next metrics write
      expect(checkpointStep(out)).toBe(stopped);
      // Resumed from the folder alone: every setting comes from config.json; the resume says where it starts.
      const r = await tarm(['train', '--out', out, '--resume', '--steps', String(stopped + 1)]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`tarm: resuming ${out} from step ${stopped} of ${stopped + 1} (its checkpoint;`);
      expect(r.stderr).toContain(`config.json said 200 steps`);
      expect(r.stderr).toContain(`tarm: backend ${backend}`); // the run's backend, not auto's choice
      expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'))).toMatchObject({
        finished: true,
        step: stopped + 1,
      });
    },
  );
});

describe('Ctrl-C during an evaluation', () => {
  it('ends it at the next evaluation length (exit 130); the resume evaluates that step again', async () => {
    const out = join(tmp(), 'run');
    const lengths = Array.from({ length: 19 }, (_, i) => i + 2).join(','); // ~10 s of evaluation, well under 1 s a length
    const args = [
      'train',
      '--model',
      'dense',
      '--task',
      'copy',
      '--length',
      '2',
      '--eval-lengths',
      lengths,
      '--budget',
      '1',
      '--d-model',
      '32',
      '--heads',
      '1',
      '--batch',
      '2',
    ];
    const run = startTarm([
      ...args,
      '--steps',
      '2',
      '--eval-every',
      '1',
      '--eval-n',
      '100',
      '--backend',
      'cpu',
      '--out',
      out,
    ]);
    await run.until(/step 1\/2/);
    await sleep(1000); // step 1 is checkpointed and its evaluation under way
    const sent = performance.now();
    run.child.kill('SIGINT');
    const code = await run.exit;
    expect(code, run.stderr).toBe(130);
    expect((performance.now() - sent) / 1000, run.stderr).toBeLessThan(2);
    expect(run.stderr).toContain(
      `tarm: stopped at step 1 of 2, during its evaluation (done again on resume); continue with: tarm train --out ${out} --resume`,
    );
    expect(checkpointStep(out)).toBe(1);
    const r = await tarm(['train', '--out', out, '--resume', '--eval-lengths', '2,3', '--steps', '2']);
    expect(r.code).toBe(2); // the evaluation lengths are the run's: refused, named
    expect(r.stderr).toContain('--eval-lengths 2,3 (the run has 2,3,4,');
  });
});

describe('tarm train --resume reads the run folder', () => {
  it('--out alone; mismatched flags all named at once; a missing folder, config or checkpoint is an error', async () => {
    const dir = tmp();
    const out = join(dir, 'run');
    expect((await tarm(['train', ...TINY, '--steps', '4', '--out', out])).code).toBe(0);
    const config = readFileSync(join(out, 'config.json'), 'utf8');
    // continue the finished run to more steps with nothing but --out and --steps
    const more = await tarm(['train', '--out', out, '--resume', '--steps', '6']);
    expect(more.code, more.stderr).toBe(0);
    expect(more.stderr).toMatch(
      new RegExp(
        `tarm: resuming ${out} from step 4 of 6 \\(its checkpoint; \\d+s trained so far; it had finished at 4 steps and continues to 6\\); metrics.jsonl: \\d+ lines kept`,
      ),
    );
    expect(more.stderr).not.toMatch(/GiB/); // no memory warning for the paper's model: the run's own settings are used
    // the same values again are fine; other values are all named in one line, exit 2, nothing changed
    const bad = await tarm([
      'train',
      '--out',
      out,
      '--resume',
      '--d-model',
      '16',
      '--heads',
      '1',
      '--lr',
      '0.01',
      '--seed',
      '3',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain(
      `cannot resume ${out}: --d-model 16 (the run has 8), --lr 0.01 (the run has 0.0003), --seed 3 (the run has 1337); --resume reads every setting from ${out}/config.json`,
    );
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).train.steps).toBe(6);
    expect(readFileSync(join(out, 'config.json'), 'utf8')).toBe(config.replace('"steps": 4', '"steps": 6'));
    // nothing to resume
    const missing = await tarm(['train', '--out', join(dir, 'nope'), '--resume']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /cannot resume .*nope: no such folder; give the --out of an earlier run, or drop --resume/,
    );
    expect(existsSync(join(dir, 'nope'))).toBe(false);
    mkdirSync(join(dir, 'empty'));
    expect((await tarm(['train', '--out', join(dir, 'empty'), '--resume'])).stderr).toMatch(
      /holds no config\.json, so no run to continue/,
    );
    // a deleted checkpoint: refused, not a silent start from step 0
    rmSync(join(out, 'checkpoint'), { recursive: true });
    const lost = await tarm(['train', '--out', out, '--resume']);
    expect(lost.code).toBe(1);
    expect(lost.stderr).toMatch(
      /checkpoint\/ is missing, but metrics\.jsonl goes to step 6 .* so the checkpoint was deleted; restore it, or start again in another --out/,
    );
    expect(lost.stderr).not.toMatch(STACK);
  });

  it('a deleted metrics.jsonl is said, and eval / generate say that a run is short of its steps', async () => {
    const out = join(tmp(), 'run');
    expect((await tarm(['train', ...TINY, '--steps', '12', '--eval-every', '10', '--out', out])).code).toBe(0);
    rmSync(join(out, 'metrics.jsonl'));
    const r = await tarm(['train', '--out', out, '--resume', '--steps', '14']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `tarm: warning: ${out}/metrics.jsonl is missing: the loss and evaluation history before step 12 is lost`,
    );
    // an interrupted run: config.json says 20 steps, the checkpoint is at 14
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    writeFileSync(join(out, 'config.json'), JSON.stringify({ ...cfg, train: { ...cfg.train, steps: 20 } }));
    const ev = await tarm(['eval', '--run', out, '--n', '2', '--backend', 'cpu']);
    expect(ev.code, ev.stderr).toBe(0);
    expect(ev.stderr).toContain(
      `tarm: note: ${out} is at step 14 of 20 (interrupted; continue it with: tarm train --out ${out} --resume)`,
    );
    const g = await tarm(['generate', '--run', out, '--prompt', '12|', '--backend', 'cpu']);
    expect(g.stderr).toContain('is at step 14 of 20');
  });
});

describe('file-system errors: one line (what, where, what to do), exit non-zero, no stack trace, nothing left behind', () => {
  it('the seven cases of issue 30', async () => {
    const dir = tmp();
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a folder');
    const run = join(dir, 'run');
    expect((await tarm(['train', ...TINY, '--steps', '2', '--out', run])).code).toBe(0);
    // A folder this process cannot write: a read-only one, or (as root, whom permissions do not stop) /sys.
    let locked: string | undefined;
    if (process.getuid?.() !== 0) {
      locked = join(dir, 'locked');
      mkdirSync(locked);
      chmodSync(locked, 0o555);
    } else if (existsSync('/sys') && statSync('/sys').isDirectory()) {
      try {
        mkdirSync('/sys/tarm-probe');
        rmSync('/sys/tarm-probe', { recursive: true });
      } catch {
        locked = '/sys';
      }
    }
    mkdirSync(join(dir, 'a-folder'));
    const cases: [string[], RegExp][] = [
      [
        ['generate', '--run', file, '--prompt', '12|', '--backend', 'cpu'],
        /invalid --run: .*a-file is a file, not a run folder; pass --run with a folder written by tarm train/,
      ],
      [
        ['train', ...TINY, '--steps', '2', '--out', file],
        /invalid --out: .*a-file is a file, not a folder; give a folder/,
      ],
      [
        ['train', ...TINY, '--steps', '2', '--out', join(file, 'sub')],
        /invalid --out: .*a-file is a file, not a folder; give a folder/,
      ],
      [
        ['export', '--run', run, '--out', join(dir, 'a-folder')],
        /invalid --out: .*a-folder is a folder; give a file name/,
      ],
      [
        ['study', '--preset', 'smoke', '--out', file],
        /cannot write .*a-file: a file of that name already exists where a folder is needed/,
      ],
      ...(locked === undefined
        ? []
        : ([
            [
              ['train', ...TINY, '--steps', '2', '--out', join(locked, 'run')],
              /cannot write .*: permission denied; choose a folder you can write to/,
            ],
            [
              ['export', '--run', run, '--out', join(locked, 'm.safetensors')],
              /cannot (write|use) .*m\.safetensors: permission denied/,
            ],
          ] as [string[], RegExp][])),
    ];
    for (const [args, message] of cases) {
      const r = await tarm(args);
      expect(r.code, args.join(' ')).not.toBe(0);
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('tarm: ') && !l.startsWith('tarm: backend'));
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(r.stderr).not.toMatch(STACK);
    }
    const left = (d: string): string[] =>
      readdirSync(d).flatMap((f) =>
        f.includes('.tmp-')
          ? [join(d, f)]
          : statSync(join(d, f)).isDirectory() && !f.startsWith('locked')
            ? left(join(d, f))
            : [],
      );
    expect(left(dir)).toEqual([]);
    expect(readdirSync(join(dir, 'a-folder'))).toEqual([]);
    if (locked?.startsWith(dir)) chmodSync(locked, 0o755);
  });

  it('a damaged checkpoint is one line too', async () => {
    const dir = tmp();
    const run = join(dir, 'run');
    expect((await tarm(['train', ...TINY, '--steps', '2', '--out', run])).code).toBe(0);
    writeFileSync(join(run, 'checkpoint', 'model.json'), '{"format": "tarm-checkpoint", "weightsManifest": 7}');
    const r = await tarm(['eval', '--run', run, '--backend', 'cpu']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^tarm: /m);
    expect(r.stderr).not.toMatch(STACK);
  });
});

describe('tarm report DIR collects the run folders itself', () => {
  it('after a study whose results.json was never written (a detached queue study), or is older than its runs', async () => {
    const dir = tmp();
    const out = join(dir, 'study');
    const study = {
      name: 'one',
      description: 'one tiny run',
      arms: [{ name: 'dense', rung: 'dense' }],
      tasks: [{ name: 'copy', length: 2, evalLengths: [2] }],
      seeds: [1],
      config: {
        dModel: 8,
        nHeads: 1,
        budget: 1,
        steps: 4,
        batch: 2,
        lr: 1e-3,
        dropout: 0,
        decode: 'greedy',
        evalEvery: 2,
        evalN: 2,
      },
    };
    writeFileSync(join(dir, 'one.json'), JSON.stringify(study));
    const s = await tarm([
      'study',
      '--config',
      join(dir, 'one.json'),
      '--out',
      out,
      '--backend',
      'cpu',
      '--workers',
      '1',
    ]);
    expect(s.code, s.stderr).toBe(0);
    // what a detached `tarm study --queue` leaves: study.json and the run folders the workers wrote, no results
    for (const f of ['results.json', 'results.csv', 'report.md']) rmSync(join(out, f), { force: true });
    const r = await tarm(['report', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`tarm: collected 1 run folders of ${out} into results.json (1 finished)`);
    expect(existsSync(join(out, 'report.md'))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).runs[0].status).toBe('finished');
    // up to date: reported from results.json as it is
    const again = await tarm(['report', out]);
    expect(again.code).toBe(0);
    expect(again.stderr).not.toContain('collected');
  });
});

describe('flags and messages', () => {
  it('--steps below 1, eval --lengths 0, a typo in a study file, --version: one line naming what was typed', async () => {
    const dir = tmp();
    for (const steps of ['0', '-5']) {
      const r = await tarm(['train', ...TINY, '--steps', steps, '--out', join(dir, 'run')]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`tarm: invalid --steps: got ${steps}; allowed: >= 1`);
      expect(r.stderr).not.toContain('tarm: backend'); // refused before the backend loads
    }
    const study = {
      name: 'typo',
      description: 'seeds misspelt',
      arms: [{ name: 'dense', rung: 'dense' }],
      tasks: [{ name: 'copy', length: 2, evalLengths: [2] }],
      sedds: [1],
      config: { dModel: 8, nHeads: 1, budget: 1, steps: 4, batch: 2 },
    };
    writeFileSync(join(dir, 'typo.json'), JSON.stringify(study));
    const typo = await tarm(['study', '--config', join(dir, 'typo.json'), '--out', join(dir, 'study')]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/typo\.json: sedds: unknown key/);
    const v = await tarm(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version);
  });

  it('eval takes --eval-n / --eval-lengths as train does, and eval and generate take --backend auto', async () => {
    const run = join(tmp(), 'run');
    expect((await tarm(['train', ...TINY, '--steps', '2', '--out', run])).code).toBe(0);
    const zero = await tarm(['eval', '--run', run, '--lengths', '0', '--backend', 'cpu']);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toMatch(
      /^tarm: invalid --lengths: got "?0"?; allowed: a comma-separated list of positive integers/m,
    );
    const ev = await tarm([
      'eval',
      '--run',
      run,
      '--eval-n',
      '3',
      '--eval-lengths',
      '2,3',
      '--backend',
      'auto',
      '--json',
    ]);
    expect(ev.code, ev.stderr).toBe(0);
    const rec = JSON.parse(ev.stdout.trim().split('\n').pop()!) as { evals: Record<string, { n: number }> };
    expect(Object.keys(rec.evals)).toEqual(['2', '3']);
    expect(rec.evals['2']!.n).toBe(3);
    const g = await tarm(['generate', '--run', run, '--prompt', '12|', '--backend', 'auto']);
    expect(g.code, g.stderr).toBe(0);
  });
});

describe('a long run says so (issue 30, item 3)', () => {
  it('after its first 10 s it tells the time it needs and how to make a run of minutes, once', async () => {
    const out = join(tmp(), 'run');
    // 10 million steps of a tiny model: more than 30 minutes even at 1 ms a step
    const args = [
      'train',
      '--model',
      'dense',
      '--task',
      'copy',
      '--length',
      '4',
      '--eval-lengths',
      '4',
      '--budget',
      '1',
      '--d-model',
      '16',
      '--heads',
      '1',
      '--batch',
      '4',
      '--steps',
      '10000000',
      '--eval-every',
      '10000000',
      '--eval-n',
      '2',
      '--backend',
      'cpu',
      '--out',
      out,
    ];
    const run = startTarm([...args]);
    await run.until(/at this pace the run needs about/, 60_000);
    await sleep(1000);
    run.child.kill('SIGINT');
    expect(await run.exit, run.stderr).toBe(130);
    expect(run.stderr).toMatch(
      /tarm: at this pace the run needs about \S+ more here\. A run of minutes: smaller --d-model \(64\), --n-heads 4, --budget 6, --steps 300/,
    );
    expect(run.stderr.match(/at this pace/g)).toHaveLength(1);
  }, 90_000);

  it('a short run says nothing of the kind', async () => {
    const r = await tarm(['train', ...TINY, '--steps', '4', '--out', join(tmp(), 'run')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('at this pace');
  });
});
