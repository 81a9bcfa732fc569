import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tarm } from './tarm.js';

const STUDY_MINI = fileURLToPath(new URL('../../../packages/study/test/fixtures/study-mini', import.meta.url));

/** A study folder with its run folders, reported once (results.json, results.csv, report.md written). */
async function reportedStudy(): Promise<string> {
  const dir = join(mkdtempSync(join(tmpdir(), 'tarm-cli-archive-')), 'study');
  cpSync(STUDY_MINI, dir, { recursive: true });
  const r = await tarm(['report', dir]);
  expect(r.code, r.stderr).toBe(0);
  return dir;
}

const read = (dir: string, f: string) => readFileSync(join(dir, f), 'utf8');
/** report.md without the line that dates results.json (collected again, it has a new date). */
const undated = (md: string) => md.replace(/^- Created .*report generated from results\.json \(.*\)\.$/m, '');

describe('tarm study archive / unpack, and a study folder committed as runs.tar.gz', () => {
  it('archive, remove runs/ and logs/ (a fresh clone): tarm report gives the same report, also collected again', async () => {
    const dir = await reportedStudy();
    const [md, csv, status] = [read(dir, 'report.md'), read(dir, 'results.csv'), await tarm(['study', 'status', dir])];

    const a = await tarm(['study', 'archive', dir]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toMatch(
      new RegExp(`^wrote ${join(dir, 'runs.tar.gz')}: 29 files of ${join(dir, 'runs')} and ${join(dir, 'logs')}, `),
    );
    expect((await tarm(['study', 'archive', dir])).stdout).toMatch(/^unchanged /);

    rmSync(join(dir, 'runs'), { recursive: true });
    rmSync(join(dir, 'logs'), { recursive: true });
    const r = await tarm(['report', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`tarm: unpacked 29 files of ${join(dir, 'runs.tar.gz')}`);
    expect(read(dir, 'report.md')).toBe(md); // from results.json, which the unpacked runs are not newer than
    expect(read(dir, 'results.csv')).toBe(csv);
    expect(existsSync(join(dir, 'runs', 'dense-copy-s2', 'metrics.jsonl'))).toBe(true);

    // collected again from the run folders the archive holds
    for (const d of ['runs', 'logs', 'results.json', 'results.csv']) rmSync(join(dir, d), { recursive: true });
    const again = await tarm(['report', dir]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('tarm: collected 12 run folders');
    expect(undated(read(dir, 'report.md'))).toBe(undated(md));
    expect(read(dir, 'results.csv')).toBe(csv);

    // tarm study status reads the folder the same way
    rmSync(join(dir, 'runs'), { recursive: true });
    rmSync(join(dir, 'logs'), { recursive: true });
    expect(await tarm(['study', 'status', dir])).toEqual(status);
  });

  it('tarm study unpack fills the folders; without an archive it says how to make one', async () => {
    const dir = await reportedStudy();
    await tarm(['study', 'archive', dir]);
    rmSync(join(dir, 'runs', 'ut-copy-s1'), { recursive: true });
    const u = await tarm(['study', 'unpack', dir]);
    expect(u.code, u.stderr).toBe(0);
    expect(u.stdout).toBe(
      `unpacked 2 files of ${join(dir, 'runs.tar.gz')} into ${join(dir, 'runs')} and ${join(dir, 'logs')}; 27 as new or newer here kept\n`,
    );
    expect(existsSync(join(dir, 'runs', 'ut-copy-s1', 'config.json'))).toBe(true);
    rmSync(join(dir, 'runs.tar.gz'));
    const none = await tarm(['study', 'unpack', dir]);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe(
      `tarm: ${join(dir, 'runs.tar.gz')} does not exist (write it with: tarm study archive ${dir})\n`,
    );
  });

  it('a corrupt or truncated archive: one line that names the file, no stack trace, exit 2', async () => {
    const dir = await reportedStudy();
    await tarm(['study', 'archive', dir]);
    const archive = join(dir, 'runs.tar.gz');
    const good = readFileSync(archive);
    rmSync(join(dir, 'runs'), { recursive: true });
    rmSync(join(dir, 'logs'), { recursive: true });
    for (const [bytes, why] of [
      [good.subarray(0, good.length - 100), 'it is truncated (the gzip stream ends early)'],
      [Buffer.from('version https://git-lfs.github.com/spec/v1\n'), 'it is not gzip data'],
    ] as const) {
      writeFileSync(archive, bytes);
      for (const args of [
        ['report', dir],
        ['study', 'unpack', dir],
        ['study', 'archive', dir],
        ['study', 'status', dir],
      ]) {
        const r = await tarm(args);
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.stderr).toMatch(
          new RegExp(
            `^tarm: ${archive.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not a readable archive of run folders: `,
          ),
        );
        expect(r.stderr).toContain(why);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).not.toMatch(/^\s+at /m);
      }
      expect(existsSync(join(dir, 'runs'))).toBe(false);
    }
  });
});
