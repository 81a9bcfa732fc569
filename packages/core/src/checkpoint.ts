import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError } from './errors.js';

/**
 * A checkpoint in TensorFlow.js's weights format: a JSON file whose `weightsManifest` lists named float32
 * tensors stored back to back in one binary file, plus tarm's own fields (config, metadata, a checksum).
 */
export interface CheckpointJson {
  readonly format: 'tarm-checkpoint';
  readonly formatVersion: 1;
  readonly meta: Record<string, unknown>;
  readonly weightsManifest: [{ paths: [string]; weights: tf.io.WeightsManifestEntry[] }];
  readonly byteLength: number;
  /** FNV-1a 32-bit hash of the binary file, hex. */
  readonly checksum: string;
}

/** FNV-1a over bytes: cheap integrity check against truncated or corrupted weight files. */
export function fnv1a(data: ArrayBuffer): string {
  const bytes = new Uint8Array(data);
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

export async function encodeCheckpoint(
  tensors: Record<string, tf.Tensor>,
  meta: Record<string, unknown>,
  binName = 'weights.bin',
): Promise<{ json: CheckpointJson; data: ArrayBuffer }> {
  const { data, specs } = await tf.io.encodeWeights(tensors);
  const json: CheckpointJson = {
    format: 'tarm-checkpoint',
    formatVersion: 1,
    meta,
    weightsManifest: [{ paths: [binName], weights: specs }],
    byteLength: data.byteLength,
    checksum: fnv1a(data),
  };
  return { json, data };
}

/** Validates a parsed checkpoint JSON (`where` names the file in errors). */
export function checkCheckpointJson(raw: unknown, where: string): CheckpointJson {
  const j = raw as Partial<CheckpointJson> | null;
  if (!j || typeof j !== 'object') throw new CheckpointError(where, 'not a JSON object');
  if (j.format !== 'tarm-checkpoint')
    throw new CheckpointError(where, `format is ${JSON.stringify(j.format)}, expected "tarm-checkpoint"`);
  if (j.formatVersion !== 1)
    throw new CheckpointError(
      where,
      `formatVersion ${JSON.stringify(j.formatVersion)} is not supported (this version reads 1)`,
    );
  const m = j.weightsManifest;
  if (!Array.isArray(m) || m.length !== 1 || !Array.isArray(m[0]?.paths) || !Array.isArray(m[0]?.weights)) {
    throw new CheckpointError(where, 'weightsManifest must hold exactly one group with paths and weights');
  }
  if (typeof j.byteLength !== 'number' || typeof j.checksum !== 'string')
    throw new CheckpointError(where, 'byteLength or checksum missing');
  return j as CheckpointJson;
}

/** Decodes the binary data against a checked JSON; verifies length and checksum first. */
export function decodeCheckpoint(json: CheckpointJson, data: ArrayBuffer, where: string): Record<string, tf.Tensor> {
  if (data.byteLength !== json.byteLength) {
    throw new CheckpointError(
      where,
      `weights file has ${data.byteLength} bytes, manifest says ${json.byteLength} (truncated or replaced?)`,
    );
  }
  const sum = fnv1a(data);
  if (sum !== json.checksum)
    throw new CheckpointError(where, `weights checksum ${sum} does not match ${json.checksum} (corrupted)`);
  return tf.io.decodeWeights(data, json.weightsManifest[0].weights) as Record<string, tf.Tensor>;
}
