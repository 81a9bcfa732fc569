/**
 * Saved models in the browser's IndexedDB (works in the page and in workers). One database, two object stores
 * written in one transaction: `info` (small, listed) and `data` (the checkpoint: @tarm/core's format, i.e. the
 * TensorFlow.js weights manifest + one binary buffer, with a checksum). A save resolves only when its
 * transaction commits, so a quota failure at commit time is reported, not swallowed.
 */
import type { CheckpointJson } from '@tarm/core';
import type { History, SavedModelInfo } from './protocol.js';
import { checkRoom, type StorageEstimateLike } from './storage-errors.js';

const DB_NAME = 'tarm-playground';
const DB_VERSION = 1;
const INFO = 'info';
const DATA = 'data';

export interface StoredModel {
  readonly info: SavedModelInfo;
  /** The resolved ModelConfig of @tarm/recursion (JSON). */
  readonly modelConfig: unknown;
  readonly history: History;
  readonly checkpoint: CheckpointJson;
  readonly weights: ArrayBuffer;
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new DOMException('transaction aborted', 'AbortError'));
    tx.onerror = () => reject(tx.error);
  });
}

export class ModelStorage {
  private db: Promise<IDBDatabase> | undefined;

  constructor(private readonly factory: IDBFactory | undefined = globalThis.indexedDB) {}

  private open(): Promise<IDBDatabase> {
    if (!this.factory)
      return Promise.reject(new DOMException('IndexedDB is not available in this browser', 'InvalidStateError'));
    this.db ??= new Promise<IDBDatabase>((resolve, reject) => {
      const r = this.factory!.open(DB_NAME, DB_VERSION);
      r.onupgradeneeded = () => {
        r.result.createObjectStore(INFO, { keyPath: 'name' });
        r.result.createObjectStore(DATA);
      };
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
      r.onblocked = () => reject(new DOMException('IndexedDB is blocked by another tab', 'InvalidStateError'));
    }).catch((e) => {
      this.db = undefined;
      throw e;
    });
    return this.db;
  }

  /** Usage and quota the browser reports for this origin (undefined where the API is missing). */
  async estimate(): Promise<StorageEstimateLike | undefined> {
    const storage = (
      globalThis.navigator as { storage?: { estimate?: () => Promise<StorageEstimateLike> } } | undefined
    )?.storage;
    try {
      return storage?.estimate ? await storage.estimate() : undefined;
    } catch {
      return undefined;
    }
  }

  /** Writes (or replaces) a model; checks the quota estimate first. */
  async save(model: StoredModel): Promise<void> {
    checkRoom(model.info.bytes, await this.estimate());
    const db = await this.open();
    const tx = db.transaction([INFO, DATA], 'readwrite');
    const committed = done(tx);
    tx.objectStore(INFO).put(model.info);
    tx.objectStore(DATA).put(
      { modelConfig: model.modelConfig, history: model.history, checkpoint: model.checkpoint, weights: model.weights },
      model.info.name,
    );
    await committed;
  }

  async load(name: string): Promise<StoredModel> {
    const db = await this.open();
    const tx = db.transaction([INFO, DATA], 'readonly');
    const [info, data] = await Promise.all([
      request(tx.objectStore(INFO).get(name) as IDBRequest<SavedModelInfo | undefined>),
      request(tx.objectStore(DATA).get(name) as IDBRequest<Omit<StoredModel, 'info'> | undefined>),
    ]);
    if (!info || !data) throw new Error(`no saved model named "${name}"`);
    return { info, ...data };
  }

  async list(): Promise<SavedModelInfo[]> {
    const db = await this.open();
    const all = await request(
      db.transaction(INFO, 'readonly').objectStore(INFO).getAll() as IDBRequest<SavedModelInfo[]>,
    );
    return all.sort((a, b) => b.savedAt.localeCompare(a.savedAt));
  }

  async remove(name: string): Promise<void> {
    const db = await this.open();
    const tx = db.transaction([INFO, DATA], 'readwrite');
    const committed = done(tx);
    tx.objectStore(INFO).delete(name);
    tx.objectStore(DATA).delete(name);
    await committed;
  }
}
