import { CheckpointError } from './errors.js';

/**
 * The safetensors format (huggingface/safetensors), float32 tensors only: an 8-byte little-endian header length
 * N, N bytes of JSON header `{"__metadata__": {string: string}, name: {dtype, shape, data_offsets: [begin, end]}}`
 * (offsets relative to the end of the header), then the raw little-endian data, tensors back to back with no
 * holes. The header is padded with spaces to a multiple of 8 bytes, as the reference writer does.
 * No maintained npm package writes it (npm's `safetensors` is a single 0.0.1 release without a repository), so these
 * two functions do.
 */
export interface SafetensorsTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

const HEADER_LIMIT = 100_000_000; // the reference reader's limit on N

/** Encodes tensors (written in sorted name order) and string metadata. */
export function encodeSafetensors(
  tensors: Readonly<Record<string, SafetensorsTensor>>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = { __metadata__: { ...metadata } };
  let offset = 0;
  for (const name of names) {
    const { shape, data } = tensors[name]!;
    const size = shape.reduce((a, b) => a * b, 1);
    if (size !== data.length)
      throw new RangeError(`safetensors: ${name} has shape [${shape.join(', ')}] but ${data.length} values`);
    header[name] = { dtype: 'F32', shape: [...shape], data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const n = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + n + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(n), true);
  out.fill(0x20, 8, 8 + n);
  out.set(json, 8);
  let at = 8 + n;
  for (const name of names) {
    const { data } = tensors[name]!;
    for (let i = 0; i < data.length; i++) view.setFloat32(at + 4 * i, data[i]!, true);
    at += data.byteLength;
  }
  return out;
}

/** Decodes a safetensors file of float32 tensors; `where` names the file in errors (CheckpointError). */
export function decodeSafetensors(
  bytes: Uint8Array,
  where: string,
): { tensors: Record<string, SafetensorsTensor>; metadata: Record<string, string> } {
  const fail = (reason: string): never => {
    throw new CheckpointError(where, `not a safetensors file: ${reason}`);
  };
  if (bytes.length < 8) fail('shorter than its 8-byte header length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n > HEADER_LIMIT || 8 + n > bytes.length) fail(`header length ${n} does not fit the ${bytes.length} bytes`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>;
  } catch (e) {
    return fail(`header is not JSON (${(e as Error).message})`);
  }
  const dataStart = 8 + n;
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const tensors: Record<string, SafetensorsTensor> = {};
  const spans: [number, number, string][] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e.dtype !== 'F32') fail(`${name} has dtype ${JSON.stringify(e.dtype)}; this reader takes F32 only`);
    const shape = e.shape as number[];
    const [begin, end] = e.data_offsets as [number, number];
    const size = Array.isArray(shape) ? shape.reduce((a, b) => a * b, 1) : NaN;
    if (
      !Number.isInteger(begin) ||
      !Number.isInteger(end) ||
      end - begin !== 4 * size ||
      dataStart + end > bytes.length
    ) {
      fail(
        `${name}: data_offsets ${JSON.stringify(e.data_offsets)} do not hold shape ${JSON.stringify(shape)} within the file`,
      );
    }
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) data[i] = view.getFloat32(dataStart + begin + 4 * i, true);
    tensors[name] = { shape, data };
    spans.push([begin, end, name]);
  }
  spans.sort((a, b) => a[0] - b[0]);
  let expected = 0;
  for (const [begin, end, name] of spans) {
    if (begin !== expected) fail(`${name} starts at ${begin}, expected ${expected} (tensors must be contiguous)`);
    expected = end;
  }
  if (dataStart + expected !== bytes.length) fail(`${bytes.length - dataStart - expected} bytes after the last tensor`);
  return { tensors, metadata };
}
