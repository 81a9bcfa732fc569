import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { c as tarCreate, Parser } from 'tar';
import { StudyError } from './errors.js';
import { logsDir, runsDir } from './run-folder.js';

/**
 * The run folders of a study (runs/ and logs/) in one file beside results.json, so that a repository commits one
 * compressed file per study instead of a few files per run (docs/decisions.md, "Run folders live in one archive per
 * study"). runs/ and logs/ stay the working copy every reader uses: {@link unpackRuns} fills them from the archive on
 * demand, {@link archiveRuns} writes the archive from them.
 */
export const RUNS_ARCHIVE = 'runs.tar.gz';
/** Written in runs/ after an unpack or an archive: the sha-256 of the archive the folders hold (not archived). */
export const UNPACKED_STAMP = '.unpacked';

export const runsArchive = (outDir: string): string => join(outDir, RUNS_ARCHIVE);

/** The folders an archive holds, relative to the study folder. */
const ARCHIVED_DIRS = ['runs', 'logs'] as const;

/**
 * Whether a path of runs/ or logs/ belongs in the archive: not a checkpoint (they stay local), not a `.log` (the
 * children's stderr, which .gitignore leaves out too), not a dotfile (locks, temporary files, the unpack stamp).
 */
function archived(rel: string): boolean {
  const parts = rel.split('/');
  return !parts.some((p) => p === 'checkpoint' || p.startsWith('.')) && !rel.endsWith('.log') && !rel.endsWith('.tmp');
}

/** The files an archive of `outDir` holds: paths relative to it with `/` separators, sorted (a stable archive). */
export function archivableFiles(outDir: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      const rel = relative(outDir, p).split(sep).join('/');
      if (!archived(rel)) continue;
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(rel);
    }
  };
  for (const d of ARCHIVED_DIRS) if (existsSync(join(outDir, d))) walk(join(outDir, d));
  return out.sort();
}

/** One file of an archive. */
interface ArchiveEntry {
  readonly path: string;
  /** Modification time, ms (whole seconds in a ustar header; a pax header may hold fractions). */
  readonly mtimeMs: number;
  readonly data: Buffer;
}

/** The error of an archive that cannot be read: it names the file and what to do, without a stack. */
function unreadable(path: string, why: string): StudyError {
  return new StudyError(
    `${path} is not a readable archive of run folders: ${why}. Restore it (git checkout -- ${path}), or delete it and write it again from the run folders here with \`tarm study archive ${dirname(path)}\``,
  );
}

/**
 * Reads and checks a whole archive before anything is written: gzip (its CRC and length catch a truncated or
 * altered file), tar (header checksums, every entry complete, the end-of-archive blocks present), and only plain
 * files under runs/ or logs/.
 */
export function readRunsArchive(path: string): ArchiveEntry[] {
  const gz = readFileSync(path);
  if (gz.length === 0) throw unreadable(path, 'the file is empty');
  if (gz[0] !== 0x1f || gz[1] !== 0x8b)
    throw unreadable(path, 'it is not gzip data (a Git LFS pointer, or a file that is not a .tar.gz?)');
  let raw: Buffer;
  try {
    raw = gunzipSync(gz);
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw unreadable(
      path,
      code === 'Z_BUF_ERROR'
        ? 'it is truncated (the gzip stream ends early)'
        : `it is corrupt (gzip: ${(e as Error).message})`,
    );
  }
  // tar ends with two zero blocks; a tar cut short loses them
  if (raw.length < 1024 || raw.length % 512 !== 0 || raw.subarray(raw.length - 1024).some((b) => b !== 0))
    throw unreadable(path, 'it is truncated (the tar stream has no end-of-archive blocks)');
  const entries: ArchiveEntry[] = [];
  let problem: string | undefined;
  const parser = new Parser({
    strict: true,
    onReadEntry: (entry) => {
      const rel = entry.path.replace(/\/+$/, '');
      if (entry.type === 'Directory') return void entry.resume();
      const top = rel.split('/')[0];
      if (
        entry.type !== 'File' ||
        !(ARCHIVED_DIRS as readonly string[]).includes(top!) ||
        rel.startsWith('/') ||
        rel.split('/').some((p) => p === '..' || p === '')
      ) {
        problem ??= `it holds ${entry.type === 'File' ? 'a file' : `a ${entry.type}`} outside runs/ and logs/: ${rel}`;
        return void entry.resume();
      }
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => {
        const data = Buffer.concat(chunks);
        if (data.length !== entry.size) problem ??= `${rel} is cut short`;
        entries.push({ path: rel, mtimeMs: entry.mtime?.getTime() ?? 0, data });
      });
    },
  });
  parser.on('warn', (code: string, message: string | Error) => {
    problem ??= `${code}: ${typeof message === 'string' ? message : message.message}`;
  });
  parser.on('error', (e: Error) => {
    problem ??= e.message;
  });
  try {
    parser.end(raw); // synchronous: the data is already decompressed
  } catch (e) {
    problem ??= (e as Error).message;
  }
  if (problem) throw unreadable(path, `it is corrupt (${problem})`);
  return entries;
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
const stampPath = (outDir: string) => join(runsDir(outDir), UNPACKED_STAMP);
const readStamp = (outDir: string): string | undefined =>
  existsSync(stampPath(outDir)) ? readFileSync(stampPath(outDir), 'utf8').trim() : undefined;
function writeStamp(outDir: string, hash: string): void {
  mkdirSync(runsDir(outDir), { recursive: true });
  writeFileSync(stampPath(outDir), `${hash}\n`);
}

/** What {@link unpackRuns} did. */
export interface UnpackOutcome {
  readonly archive: string;
  /** Files written from the archive (missing here, or older here than in the archive). */
  readonly unpacked: number;
  /** Files of the archive left as they are here (as new or newer here). */
  readonly kept: number;
  /** The folders already held this archive (by its sha-256): nothing was read. */
  readonly upToDate: boolean;
}

/**
 * Fills `outDir/runs` and `outDir/logs` from `outDir/runs.tar.gz`; undefined when the folder has no archive.
 *
 * A file of the archive is written where the folder lacks it or holds an older copy (modification times, whole
 * seconds); a newer file here (a run trained since the archive was made) is kept, and nothing here is deleted.
 * Each file is written to a temporary name and renamed, so a reader never sees a torn file. The archive is checked
 * whole before anything is written: a corrupt or truncated one is a StudyError that names it.
 *
 * Unless `force`, an archive the folders were last filled from or written to (runs/.unpacked holds its sha-256)
 * is not read again, so every command can call this at no cost.
 */
export function unpackRuns(outDir: string, opts: { force?: boolean } = {}): UnpackOutcome | undefined {
  const archive = runsArchive(outDir);
  if (!existsSync(archive)) return undefined;
  const gz = readFileSync(archive);
  const hash = sha256(gz);
  if (!opts.force && readStamp(outDir) === hash) return { archive, unpacked: 0, kept: 0, upToDate: true };
  const entries = readRunsArchive(archive);
  let unpacked = 0;
  let kept = 0;
  for (const e of entries) {
    const target = join(outDir, ...e.path.split('/'));
    // compared in whole seconds, as tar records them
    if (existsSync(target) && Math.floor(statSync(target).mtimeMs / 1000) >= Math.floor(e.mtimeMs / 1000)) {
      kept++;
      continue;
    }
    mkdirSync(dirname(target), { recursive: true });
    const tmp = join(dirname(target), `.${e.path.split('/').pop()}.${process.pid}.unpack.tmp`);
    writeFileSync(tmp, e.data);
    utimesSync(tmp, e.mtimeMs / 1000, e.mtimeMs / 1000);
    renameSync(tmp, target);
    unpacked++;
  }
  mkdirSync(logsDir(outDir), { recursive: true });
  writeStamp(outDir, hash);
  return { archive, unpacked, kept, upToDate: false };
}

/** Makes a rename in `dir` durable (best effort: some filesystems cannot fsync a folder; the rename is atomic anyway). */
function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // not supported here
  }
}

/** The process that drives the study in `outDir` now (its live `.lock`, lockStudy), other than this one. */
function otherDriver(outDir: string): number | undefined {
  const lock = join(outDir, '.lock');
  if (!existsSync(lock)) return undefined;
  const pid = Number(readFileSync(lock, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
}

/** What {@link archiveRuns} wrote. */
export interface ArchiveOutcome {
  readonly archive: string;
  readonly files: number;
  /** The files' total size. */
  readonly bytes: number;
  /** The archive's size. */
  readonly archiveBytes: number;
  /** The archive was already there with these contents (byte for byte): it was left alone. */
  readonly unchanged: boolean;
}

/**
 * Writes `outDir/runs.tar.gz` from `outDir/runs` and `outDir/logs`: every file but checkpoints, `.log` files and
 * dotfiles, in path order, with portable headers (no owner, normalised modes) and gzip level 9, so that the same
 * folders give the same bytes. An archive already there is unpacked first (nothing it holds is lost). The archive is
 * written to a temporary file, read back and checked, then renamed over the old one. Refused while another process
 * runs the study (its `.lock`): the study writes the archive again itself when it stops.
 */
export function archiveRuns(outDir: string): ArchiveOutcome {
  const archive = runsArchive(outDir);
  if (!existsSync(outDir) || !statSync(outDir).isDirectory())
    throw new StudyError(`${outDir}: no such folder; give a study folder (the --out of tarm study)`);
  const driver = otherDriver(outDir);
  if (driver !== undefined)
    throw new StudyError(
      `${outDir} is being run by process ${driver} (${join(outDir, '.lock')}); archive it when that study stops`,
    );
  unpackRuns(outDir);
  const files = archivableFiles(outDir);
  if (!files.length)
    throw new StudyError(
      `${outDir} has no run folders to archive (no files in ${runsDir(outDir)} or ${logsDir(outDir)})`,
    );
  const tmp = join(outDir, `.${RUNS_ARCHIVE}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    tarCreate(
      { file: tmp, cwd: outDir, gzip: { level: 9 }, portable: true, sync: true, strict: true, noDirRecurse: true },
      files,
    );
    const fd = openSync(tmp, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    const back = readRunsArchive(tmp).map((e) => e.path);
    if (back.length !== files.length || back.some((p, i) => p !== files[i]))
      throw new StudyError(`${tmp}: the archive read back does not hold the ${files.length} files written`);
    const gz = readFileSync(tmp);
    const bytes = files.reduce((n, f) => n + statSync(join(outDir, f)).size, 0);
    const unchanged = existsSync(archive) && readFileSync(archive).equals(gz);
    if (!unchanged) {
      renameSync(tmp, archive);
      fsyncDir(outDir);
    }
    writeStamp(outDir, sha256(gz));
    return { archive, files: files.length, bytes, archiveBytes: gz.length, unchanged };
  } finally {
    rmSync(tmp, { force: true });
  }
}
