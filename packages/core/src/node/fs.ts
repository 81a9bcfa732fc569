import { mkdir, readFile, rename, rm, readdir, open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { checkCheckpointJson, decodeCheckpoint, encodeCheckpoint, type CheckpointJson } from '../checkpoint.js';
import { CheckpointError, TarmError } from '../errors.js';

let tmpCounter = 0;

/**
 * Writes a file atomically: the data goes to a temporary sibling, is flushed, then renamed over the target.
 * A process killed at any point leaves either the old file or the new one, never a torn one; a write that fails
 * (the target is a folder, the disk is full, ...) removes its temporary file before the error goes on.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${++tmpCounter}`;
  const fh = await open(tmp, 'w');
  try {
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

/**
 * Saves a checkpoint into `dir` as `model.json` + `weights-<tag>.bin`. The weights are written first, the JSON
 * that points at them last (atomically), and only then are older weight files removed: a kill at any point
 * leaves a loadable checkpoint.
 */
export async function saveCheckpoint(
  dir: string,
  tensors: Record<string, tf.Tensor>,
  meta: Record<string, unknown>,
  tag: string,
): Promise<void> {
  const binName = `weights-${tag}.bin`;
  const { json, data } = await encodeCheckpoint(tensors, meta, binName);
  await writeFileAtomic(join(dir, binName), new Uint8Array(data));
  await writeJsonAtomic(join(dir, 'model.json'), json);
  for (const f of await readdir(dir)) {
    if (f.startsWith('weights-') && f !== binName) await rm(join(dir, f), { force: true });
  }
}

/** Loads a checkpoint saved by {@link saveCheckpoint}; every failure is a CheckpointError naming the file. */
export async function loadCheckpoint(
  dir: string,
): Promise<{ json: CheckpointJson; tensors: Record<string, tf.Tensor> }> {
  const jsonPath = join(dir, 'model.json');
  let text: string;
  try {
    text = await readFile(jsonPath, 'utf8');
  } catch {
    throw new CheckpointError(jsonPath, 'file not found');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(jsonPath, `not valid JSON (${(e as Error).message})`);
  }
  const json = checkCheckpointJson(raw, jsonPath);
  const binPath = join(dir, json.weightsManifest[0].paths[0]);
  let buf: Buffer;
  try {
    buf = await readFile(binPath);
  } catch {
    throw new CheckpointError(binPath, 'weights file not found');
  }
  const data = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  return { json, tensors: decodeCheckpoint(json, data, binPath) };
}

/** Reads a JSON file, or returns undefined when it does not exist; a file that is not JSON is a TarmError naming it. */
export async function readJsonIfExists<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new TarmError(
      `${path} is not valid JSON (${(e as Error).message}); the file is damaged: restore it or start again in another folder`,
    );
  }
}
