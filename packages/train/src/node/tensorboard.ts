import { appendFile, readdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { crc32c } from '@aws-crypto/crc32c';
import protobuf from 'protobufjs/light.js';
import { writeFileAtomic } from '@tarm/core/node/internal';
import type { MetricsLine } from './metrics-line.js';

/**
 * TensorBoard event files: TFRecord framing (u64 LE length, masked CRC32C of the length, the bytes, masked CRC32C
 * of the bytes) around `tensorflow.Event` protocol buffers. Only the fields a scalar log needs are declared,
 * with the field numbers and oneofs of tensorflow/core/util/event.proto and summary.proto (a oneof member is written
 * even when 0, and TensorBoard reads a scalar only where `simple_value` is set).
 */
const root = protobuf.Root.fromJSON({
  nested: {
    tensorflow: {
      nested: {
        Event: {
          oneofs: { what: { oneof: ['fileVersion', 'summary'] } },
          fields: {
            wallTime: { type: 'double', id: 1 },
            step: { type: 'int64', id: 2 },
            fileVersion: { type: 'string', id: 3 },
            summary: { type: 'Summary', id: 5 },
          },
        },
        Summary: {
          fields: { value: { rule: 'repeated', type: 'Value', id: 1 } },
          nested: {
            Value: {
              oneofs: { value: { oneof: ['simpleValue'] } },
              fields: { tag: { type: 'string', id: 1 }, simpleValue: { type: 'float', id: 2 } },
            },
          },
        },
      },
    },
  },
});
const EventType = root.lookupType('tensorflow.Event');

/** One event: the file-version header, or scalars (tag -> value) at a step. */
export interface TbEvent {
  readonly wallTime: number;
  readonly step: number;
  readonly fileVersion?: string;
  readonly scalars?: Readonly<Record<string, number>>;
}

export const FILE_VERSION = 'brain.Event:2';
/** TensorBoard finds event files by this part of the name. */
export const EVENTS_FILE_MARK = 'events.out.tfevents.';

const mask = (crc: number): number => (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;

/** The framed bytes of events, ready to append to an event file. */
export function encodeEvents(events: readonly TbEvent[]): Uint8Array {
  const records = events.map((e) => {
    const msg: Record<string, unknown> = { wallTime: e.wallTime, step: e.step };
    if (e.fileVersion !== undefined) msg.fileVersion = e.fileVersion;
    if (e.scalars)
      msg.summary = { value: Object.entries(e.scalars).map(([tag, simpleValue]) => ({ tag, simpleValue })) };
    const data = EventType.encode(EventType.fromObject(msg)).finish();
    const out = new Uint8Array(12 + data.length + 4);
    const view = new DataView(out.buffer);
    view.setBigUint64(0, BigInt(data.length), true);
    view.setUint32(8, mask(crc32c(out.subarray(0, 8))), true);
    out.set(data, 12);
    view.setUint32(12 + data.length, mask(crc32c(data)), true);
    return out;
  });
  const out = new Uint8Array(records.reduce((n, r) => n + r.length, 0));
  let at = 0;
  for (const r of records) {
    out.set(r, at);
    at += r.length;
  }
  return out;
}

/**
 * Reads the events of an event file back, checking both CRCs of every record (a torn last record, as a killed
 * writer leaves, ends the list). Scalars keep float32 precision, as TensorBoard stores them.
 */
export function decodeEvents(bytes: Uint8Array): TbEvent[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const events: TbEvent[] = [];
  let at = 0;
  while (at + 12 <= bytes.length) {
    const n = Number(view.getBigUint64(at, true));
    if (view.getUint32(at + 8, true) !== mask(crc32c(bytes.subarray(at, at + 8))))
      throw new Error(`event file: bad length checksum at byte ${at}`);
    if (at + 12 + n + 4 > bytes.length) break;
    const data = bytes.subarray(at + 12, at + 12 + n);
    if (view.getUint32(at + 12 + n, true) !== mask(crc32c(data)))
      throw new Error(`event file: bad data checksum at byte ${at}`);
    const e = EventType.toObject(EventType.decode(data), { longs: Number }) as {
      wallTime: number;
      step?: number;
      fileVersion?: string;
      summary?: { value?: { tag: string; simpleValue: number }[] };
    };
    events.push({
      wallTime: e.wallTime,
      step: e.step ?? 0,
      ...(e.fileVersion !== undefined ? { fileVersion: e.fileVersion } : {}),
      ...(e.summary ? { scalars: Object.fromEntries((e.summary.value ?? []).map((v) => [v.tag, v.simpleValue])) } : {}),
    });
    at += 12 + n + 4;
  }
  return events;
}

/** Step stats of the models (`model.loss` stats) -> tag; other stats are logged as `train/<name>`. */
const STAT_TAGS: Record<string, string> = {
  ce: 'train/cross_entropy',
  passes: 'train/block_passes_per_token',
  ponder: 'halting/ponder_cost',
  haltBce: 'halting/bce',
  haltAcc: 'halting/accuracy',
  lastLoss: 'train/last_segment_loss',
};

/** Evaluation metrics -> the names of the authors' exported metrics (TaskEvaluation/<task>/L<length>/<name>). */
const EVAL_TAGS = [
  ['charAcc', 'char_acc'],
  ['exactMatch', 'seq_acc'],
  ['firstCharAcc', 'first_char_acc'],
  ['lastCharAcc', 'last_char_acc'],
] as const;

/** The scalars of one metrics.jsonl line (non-finite values, e.g. an empty quartile, are left out). */
export function lineScalars(line: MetricsLine, task: string): Record<string, number> {
  const out: Record<string, number> = {};
  const put = (tag: string, v: unknown) => {
    if (typeof v === 'number' && Number.isFinite(v)) out[tag] = v;
  };
  if (line.kind === 'loss') {
    put('train/loss', line.loss);
    put('train/tokens_per_second', line.tokensPerSecond);
    for (const [k, v] of Object.entries(line.stats ?? {})) put(STAT_TAGS[k] ?? `train/${k}`, v);
  } else {
    for (const [L, m] of Object.entries(line.evals)) {
      const prefix = `TaskEvaluation/${task}/L${L}`;
      for (const [field, name] of EVAL_TAGS) put(`${prefix}/${name}`, m[field]);
      m.quartiles.forEach((q, i) => put(`${prefix}/pos_q${i + 1}_acc`, q));
    }
  }
  return out;
}

/**
 * The event file of a run folder. Opening it removes the event files already there and writes a new one holding
 * the events of `lines` (the metrics.jsonl lines kept, e.g. on resume), so the file always mirrors metrics.jsonl;
 * `write` then appends the events of each new line. Wall times of the replayed lines are placed before now by
 * their `wallSeconds` distance to `wallNow`.
 */
export class TensorBoardLog {
  private constructor(
    readonly path: string,
    private readonly task: string,
  ) {}

  static async open(
    dir: string,
    task: string,
    lines: readonly MetricsLine[],
    wallNow: number,
  ): Promise<TensorBoardLog> {
    for (const f of await readdir(dir)) if (f.includes(EVENTS_FILE_MARK)) await rm(join(dir, f), { force: true });
    const now = Date.now() / 1000;
    const log = new TensorBoardLog(join(dir, `${EVENTS_FILE_MARK}${Math.floor(now)}.${hostname()}.tarm`), task);
    const events: TbEvent[] = [{ wallTime: now - wallNow, step: 0, fileVersion: FILE_VERSION }];
    for (const l of lines)
      events.push({ wallTime: now - (wallNow - l.wallSeconds), step: l.step, scalars: lineScalars(l, task) });
    await writeFileAtomic(log.path, encodeEvents(events));
    return log;
  }

  /** Appends the events of a new metrics line (whole records only). */
  async write(line: MetricsLine): Promise<void> {
    await appendFile(
      this.path,
      encodeEvents([{ wallTime: Date.now() / 1000, step: line.step, scalars: lineScalars(line, this.task) }]),
    );
  }
}
