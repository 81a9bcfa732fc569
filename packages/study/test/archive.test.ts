import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { archivableFiles, archiveRuns, readRunsArchive, RUNS_ARCHIVE, unpackRuns } from '../src/archive.js';
import { StudyError } from '../src/errors.js';
import { loadStudy } from '../src/presets.js';
import { writeReport } from '../src/report.js';
import { RESULTS_CSV_FILE } from '../src/results-csv.js';
import { collectResults, type StudyResults } from '../src/results.js';
import { resumeStudy, runStudy, type RunStudyOptions } from '../src/runner.js';
import { copyFixtureStudy, FAKE_TARM, invocations, tempDir } from './helpers.js';

/** Every file under `dir` (relative paths, sorted) with its bytes. */
function tree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(join(d, e.name), r);
      else out.set(r, readFileSync(join(d, e.name), 'latin1'));
    }
  };
  if (existsSync(dir)) walk(dir, '');
  return new Map([...out].sort(([a], [b]) => a.localeCompare(b)));
}

/** The report and CSV of a study folder, collected from its run folders (generatedAt pinned so runs compare). */
async function reportOf(dir: string): Promise<{ md: string; csv: string; results: StudyResults }> {
  const results = { ...collectResults(dir), generatedAt: '2026-01-01T00:00:00.000Z' };
  await writeReport(dir, results);
  return {
    md: readFileSync(join(dir, 'report.md'), 'utf8'),
    csv: readFileSync(join(dir, RESULTS_CSV_FILE), 'utf8'),
    results,
  };
}

/** A study folder with run folders, a checkpoint, a child's .log and a lock: what `tarm study` leaves. */
function studyFolder(): string {
  const dir = copyFixtureStudy();
  mkdirSync(join(dir, 'runs', 'ut-copy-s1', 'checkpoint'), { recursive: true });
  writeFileSync(join(dir, 'runs', 'ut-copy-s1', 'checkpoint', 'model.json'), '{"weights":[]}');
  writeFileSync(join(dir, 'logs', 'ut-copy-s1.log'), 'stderr of the child\n');
  writeFileSync(join(dir, '.lock'), String(process.pid));
  return dir;
}

const expectStudyError = (f: () => unknown, ...parts: (string | RegExp)[]) => {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(StudyError);
  for (const p of parts) expect((err as Error).message).toMatch(p);
};

describe('the run folders of a study in one archive (runs.tar.gz)', () => {
  it('archive, remove runs/ and logs/ (a fresh clone): the same results, report and CSV', async () => {
    const dir = studyFolder();
    const before = await reportOf(dir);
    const runsBefore = tree(join(dir, 'runs'));
    const logsBefore = tree(join(dir, 'logs'));

    const a = archiveRuns(dir);
    expect(a.archive).toBe(join(dir, RUNS_ARCHIVE));
    expect(a.unchanged).toBe(false);
    // no checkpoint, no .log, no dotfile; every run file and runner log file otherwise
    const inArchive = readRunsArchive(a.archive).map((e) => e.path);
    expect(inArchive).toEqual(archivableFiles(dir));
    expect(inArchive.length).toBe(a.files);
    expect(inArchive).toContain('runs/ut-copy-s1/metrics.jsonl');
    expect(inArchive).toContain('logs/dense-copy-s1.result.json');
    expect(inArchive.some((p) => p.includes('checkpoint') || p.endsWith('.log') || /(^|\/)\./.test(p))).toBe(false);
    expect(a.archiveBytes).toBe(statSync(a.archive).size);
    expect(a.archiveBytes).toBeLessThan(a.bytes);

    rmSync(join(dir, 'runs'), { recursive: true });
    rmSync(join(dir, 'logs'), { recursive: true });
    rmSync(join(dir, 'results.json'), { force: true });
    rmSync(join(dir, 'report.md'));
    rmSync(join(dir, RESULTS_CSV_FILE));

    const after = await reportOf(dir); // collectResults unpacks on demand
    expect(after.md).toBe(before.md);
    expect(after.csv).toBe(before.csv);
    expect(after.results).toEqual(before.results);
    // the files came back byte for byte, minus what stays local
    const kept = (m: Map<string, string>) =>
      new Map([...m].filter(([p]) => !p.includes('checkpoint') && !p.endsWith('.log') && !/(^|\/)\./.test(p)));
    expect(kept(tree(join(dir, 'runs')))).toEqual(kept(runsBefore));
    expect(tree(join(dir, 'logs'))).toEqual(kept(logsBefore));
    expect(existsSync(join(dir, 'runs', 'ut-copy-s1', 'checkpoint'))).toBe(false);
  });

  it('the same folders give the same bytes; archiving again changes nothing', () => {
    const dir = studyFolder();
    const first = archiveRuns(dir);
    const bytes = readFileSync(first.archive);
    const second = archiveRuns(dir);
    expect(second.unchanged).toBe(true);
    expect(readFileSync(second.archive).equals(bytes)).toBe(true);
    // another folder with the same files and times: the same archive, byte for byte
    const other = copyFixtureStudy();
    rmSync(join(other, 'runs'), { recursive: true });
    rmSync(join(other, 'logs'), { recursive: true });
    cpSync(first.archive, join(other, RUNS_ARCHIVE));
    unpackRuns(other);
    rmSync(join(other, RUNS_ARCHIVE));
    expect(readFileSync(archiveRuns(other).archive).equals(bytes)).toBe(true);
  });

  it('unpacking keeps newer files here, restores older and missing ones, deletes nothing, and is not repeated', () => {
    const dir = studyFolder();
    const { archive } = archiveRuns(dir);
    const metrics = join(dir, 'runs', 'dense-copy-s2', 'metrics.jsonl');
    const summary = join(dir, 'runs', 'dense-copy-s2', 'summary.json');
    const config = join(dir, 'runs', 'dense-copy-s2', 'config.json');
    const archived = readFileSync(summary, 'utf8');
    const t = statSync(summary).mtimeMs / 1000;
    writeFileSync(metrics, 'trained on here\n'); // newer here: kept
    writeFileSync(summary, '{"older": true}\n');
    utimesSync(summary, t - 3600, t - 3600); // older here: replaced
    rmSync(config); // missing here: restored
    writeFileSync(join(dir, 'runs', 'dense-copy-s2', 'extra.json'), '{}'); // not in the archive: left alone

    // the folders were made from this very archive (runs/.unpacked): nothing is read
    expect(unpackRuns(dir)).toMatchObject({ upToDate: true, unpacked: 0 });
    expect(existsSync(config)).toBe(false);

    const u = unpackRuns(dir, { force: true })!;
    expect(u).toMatchObject({ archive, upToDate: false, unpacked: 2 });
    expect(u.kept).toBe(readRunsArchive(archive).length - 2);
    expect(readFileSync(metrics, 'utf8')).toBe('trained on here\n');
    expect(readFileSync(summary, 'utf8')).toBe(archived);
    expect(existsSync(config)).toBe(true);
    expect(existsSync(join(dir, 'runs', 'dense-copy-s2', 'extra.json'))).toBe(true);
    expect(readdirSync(join(dir, 'runs', 'dense-copy-s2')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('is refused while another process runs the study; a stale lock does not stop it', () => {
    const dir = studyFolder(); // its .lock holds this process: the runner archiving its own folder
    expect(archiveRuns(dir).files).toBeGreaterThan(0);
    writeFileSync(join(dir, '.lock'), String(process.ppid)); // alive, not this process
    expectStudyError(() => archiveRuns(dir), `is being run by process ${process.ppid}`);
    writeFileSync(join(dir, '.lock'), '999999999'); // no such process
    expect(archiveRuns(dir).unchanged).toBe(true);
  });

  it('a folder without an archive is left alone; archiving needs run folders', () => {
    const dir = join(tempDir(), 'empty');
    mkdirSync(dir);
    expect(unpackRuns(dir)).toBeUndefined();
    expect(existsSync(join(dir, 'runs'))).toBe(false);
    expectStudyError(() => archiveRuns(dir), 'has no run folders to archive');
    expectStudyError(() => archiveRuns(join(dir, 'nope')), 'no such folder');
  });
});

describe('a corrupt or truncated archive', () => {
  /** A study folder whose runs.tar.gz is `bytes` and that has no run folders (a fresh clone). */
  function cloneWith(bytes: (good: Buffer) => Buffer): string {
    const dir = studyFolder();
    const good = readFileSync(archiveRuns(dir).archive);
    rmSync(join(dir, 'runs'), { recursive: true });
    rmSync(join(dir, 'logs'), { recursive: true });
    writeFileSync(join(dir, RUNS_ARCHIVE), bytes(good));
    return dir;
  }
  const cases: [string, (good: Buffer) => Buffer, RegExp][] = [
    ['cut short', (g) => g.subarray(0, g.length >> 1), /truncated \(the gzip stream ends early\)/],
    ['missing its last bytes', (g) => g.subarray(0, g.length - 4), /truncated/],
    [
      'with a flipped byte',
      (g) => {
        const b = Buffer.from(g);
        b[b.length >> 1]! ^= 0xff;
        return b;
      },
      /corrupt/,
    ],
    ['empty', () => Buffer.alloc(0), /the file is empty/],
    [
      'a Git LFS pointer',
      () => Buffer.from('version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 1\n'),
      /not gzip data/,
    ],
    [
      'a tar cut short inside good gzip',
      (g) => gzipSync(gunzipSync(g).subarray(0, 3000)),
      /truncated \(the tar stream/,
    ],
    [
      'a tar with a damaged header',
      (g) => {
        const raw = Buffer.from(gunzipSync(g));
        raw[100] ^= 0x01; // the first header's mode field: its checksum no longer matches
        return gzipSync(raw);
      },
      /corrupt/,
    ],
  ];
  for (const [what, bytes, why] of cases)
    it(`${what}: a StudyError that names the file, and nothing is written`, () => {
      const dir = cloneWith(bytes);
      const archive = join(dir, RUNS_ARCHIVE);
      for (const f of [() => unpackRuns(dir), () => collectResults(dir), () => archiveRuns(dir)])
        expectStudyError(f, archive, why, /tarm study archive/);
      expect(existsSync(join(dir, 'runs'))).toBe(false);
      expect(existsSync(join(dir, 'logs'))).toBe(false);
    });

  it('an archive with a path outside runs/ and logs/ is refused', () => {
    const dir = studyFolder();
    const raw = Buffer.from(gunzipSync(readFileSync(archiveRuns(dir).archive)));
    // rename the first entry logs/... to xxxx/... and fix its header checksum
    raw.write('xxxx', 0, 'latin1');
    raw.fill(0x20, 148, 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += raw[i]!;
    raw.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    rmSync(join(dir, 'runs'), { recursive: true });
    writeFileSync(join(dir, RUNS_ARCHIVE), gzipSync(raw));
    expectStudyError(() => unpackRuns(dir), /outside runs\/ and logs\/: xxxx\//);
  });
});

describe('a study committed as its archive, resumed', () => {
  const options = (outDir: string, log: string): RunStudyOptions => ({
    outDir,
    cliEntry: FAKE_TARM,
    workers: 2,
    backend: 'wasm',
    progress: false,
    env: { ...process.env, FAKE_TARM_LOG: log, FAKE_TARM_STEP_MS: '25' },
  });
  const GRID = loadStudy({ preset: 'smoke' }, { arms: ['dense', 'dual-ut'], tasks: ['copy', 'reverse'] });

  it('skips the runs the archive holds finished, trains the others, and writes the archive again', async () => {
    const out = join(tempDir(), 'archived');
    const log = join(out, '..', 'invocations.log');
    const ac = new AbortController();
    const first = await runStudy(GRID, {
      ...options(out, log),
      signal: ac.signal,
      onProgress: (g) => {
        if (g.finished >= 2 && g.running.some((r) => (r.step ?? 0) >= 5)) ac.abort();
      },
    });
    expect(first.aborted).toBe(true);
    const finished = first.runs.filter((r) => r.status === 'done').map((r) => r.id);
    expect(finished.length).toBeGreaterThanOrEqual(2);
    expect(finished.length).toBeLessThan(4);
    archiveRuns(out);
    const archived = readFileSync(join(out, RUNS_ARCHIVE));

    // a fresh clone: study.json and the archive, no run folders, no checkpoints
    rmSync(join(out, 'runs'), { recursive: true });
    rmSync(join(out, 'logs'), { recursive: true });
    const before = invocations(log).length;
    const second = await resumeStudy(options(out, log));
    expect(second.ok).toBe(true);
    const calls = invocations(log).slice(before);
    for (const id of finished) expect(calls.map((c) => c[0])).not.toContain(id);
    expect(calls.map((c) => c[0]).sort()).toEqual(
      GRID.arms
        .flatMap((a) => GRID.tasks.map((t) => `${a.name}-${t.name}-s1337`))
        .filter((id) => !finished.includes(id))
        .sort(),
    );
    // an unfinished run of the archive has no checkpoint here: trained again from step 0, not resumed
    expect(calls.every(([, mode]) => mode === 'fresh')).toBe(true);
    expect(second.runs.filter((r) => r.status === 'skipped').map((r) => r.id)).toEqual(
      expect.arrayContaining(finished),
    );

    // the archive now holds every run, finished
    const now = readFileSync(join(out, RUNS_ARCHIVE));
    expect(now.equals(archived)).toBe(false);
    const paths = readRunsArchive(join(out, RUNS_ARCHIVE)).map((e) => e.path);
    for (const r of second.runs) expect(paths).toContain(`runs/${r.id}/summary.json`);
    expect(paths.some((p) => p.includes('checkpoint'))).toBe(false);
    rmSync(join(out, 'runs'), { recursive: true });
    rmSync(join(out, 'logs'), { recursive: true });
    expect(collectResults(out).runs.every((r) => r.status === 'finished')).toBe(true);
  });

  it('a corrupt archive stops the study before any run starts', async () => {
    const out = join(tempDir(), 'corrupt');
    const log = join(out, '..', 'invocations.log');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, RUNS_ARCHIVE), gzipSync(Buffer.from('not a tar')).subarray(0, 10));
    await expect(runStudy(GRID, options(out, log))).rejects.toThrow(
      new RegExp(`${join(out, RUNS_ARCHIVE).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not a readable archive`),
    );
    expect(invocations(log)).toEqual([]);
  });
});
