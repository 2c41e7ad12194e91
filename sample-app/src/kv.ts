/**
 * sample-app's durable key-value routes, on the Deployment's volume (the data directory):
 *
 *   PUT /kv/<key>   stores the body; the 2xx goes out only once the bytes are on disk: appended
 *                   to this replica's log on the volume and fsynced (kv-log.ts; one fsync covers
 *                   every write appended before it). 204, or 413 / 400 / 500 with a reason.
 *   GET /kv/<key>   the stored bytes exactly (200), or 404.
 *   GET /kv/        every stored key, one per line: a read-back finds writes nobody acknowledged.
 *
 * Two switches break the storage rules on purpose (negative controls, config.ts):
 *   ack-before-fsync     writes are acknowledged from memory and reach the disk only at a graceful
 *                        exit: a SIGKILL (a zone crash) loses every one of them;
 *   volume-per-replica   each replica stores under its own subdirectory (an emptyDir, not a shared
 *                        volume): what v1 wrote is not there for v2 after a rollout.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, writeSync } from 'node:fs';
import { open, readdir, type FileHandle } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import { loadPromClient } from './metrics.js';
import { KvIndex, LOG_SUFFIX, encodeRecord } from './kv-log.js';

export const KV_PREFIX = '/kv/';
export const KV_MAX_BODY_BYTES = 64 * 1024;
/** A key: no dot first, no slash, no space or newline (it is a log record's header), bounded. */
const KEY = /^[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,199}$/;

export interface KvOptions {
  /** The volume's mount point (ZERODROP_DATA_DIR). */
  dir: string;
  /** This replica's name: its own append-only log is <dir>/<replica>.kvlog. */
  replica: string;
  /** Fault ack-before-fsync: acknowledge from memory, flush at a graceful exit only. */
  ackBeforeFsync: boolean;
  /** Fault volume-per-replica: store under <dir>/<replica>. */
  perReplica: boolean;
  registry: Registry;
}

export interface KvStore {
  /** Where the logs are (the volume, or the replica's own subdirectory under fault volume-per-replica). */
  readonly dir: string;
  /** true for the request targets this module answers. */
  handles(url: string): boolean;
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Writes what is held in memory (fault ack-before-fsync) to disk; returns how many. Sync: called on exit. */
  flushSync(): number;
}

type WriteResult = 'ok' | 'bad_key' | 'too_large' | 'error';
type ReadResult = 'hit' | 'miss' | 'error';

interface PendingWrite {
  key: string;
  body: Buffer;
  done: (err: Error | null) => void;
}

export function createKvStore(options: KvOptions): KvStore {
  const dir = options.perReplica ? join(options.dir, options.replica) : options.dir;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const logPath = join(dir, `${options.replica}${LOG_SUFFIX}`);
  const { Counter, Histogram } = loadPromClient();
  const writes = new Counter({
    name: 'zerodrop_sample_app_kv_writes_total',
    help: 'PUT /kv/<key> by result: ok = acknowledged (on disk unless fault ack-before-fsync), else why not',
    labelNames: ['result'],
    registers: [options.registry],
  });
  const reads = new Counter({
    name: 'zerodrop_sample_app_kv_reads_total',
    help: 'GET /kv/<key> by result (hit, miss, error)',
    labelNames: ['result'],
    registers: [options.registry],
  });
  const writeSeconds = new Histogram({
    name: 'zerodrop_sample_app_kv_write_duration_seconds',
    help: 'PUT /kv/<key> from the last body byte to the acknowledgement (appended to the log and fsynced, in a group commit)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [options.registry],
  });
  const commits = new Counter({
    name: 'zerodrop_sample_app_kv_fsyncs_total',
    help: 'fsyncs of the log (one per group commit, covering every write appended before it)',
    registers: [options.registry],
  });
  const buffered = new Counter({
    name: 'zerodrop_sample_app_kv_unsynced_acks_total',
    help: 'writes acknowledged before they reached the disk (fault ack-before-fsync; 0 when the app keeps the rule)',
    registers: [options.registry],
  });
  for (const r of ['ok', 'bad_key', 'too_large', 'error'] satisfies WriteResult[]) writes.labels(r);
  for (const r of ['hit', 'miss', 'error'] satisfies ReadResult[]) reads.labels(r);

  /** Every key of every replica's log on this volume (what the logs held when last read). */
  const index = new KvIndex(dir);
  index.refreshSync(readdirSync(dir));
  /** Fault ack-before-fsync only: acknowledged, not on disk. */
  const memory = new Map<string, Buffer>();

  // Group commit: writes that arrive while an fsync runs go out together in the next one.
  let log: FileHandle | null = null;
  let queue: PendingWrite[] = [];
  let committing = false;
  const commit = async (): Promise<void> => {
    committing = true;
    try {
      log ??= await open(logPath, 'a', 0o600);
      while (queue.length > 0) {
        const batch = queue;
        queue = [];
        try {
          await log.write(Buffer.concat(batch.map((w) => encodeRecord(w.key, w.body))));
          await log.datasync();
          commits.inc();
          for (const w of batch) index.set(w.key, w.body);
          for (const w of batch) w.done(null);
        } catch (err) {
          for (const w of batch) w.done(err instanceof Error ? err : new Error(String(err)));
        }
      }
    } finally {
      committing = false;
    }
  };
  const storeDurably = (key: string, body: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      queue.push({ key, body, done: (err) => (err ? reject(err) : resolve()) });
      if (!committing)
        void commit().catch((err: unknown) => {
          for (const w of queue.splice(0)) w.done(err instanceof Error ? err : new Error(String(err)));
        });
    });

  /** A key this replica does not know yet may have been written by another: read the logs' new bytes first. */
  const lookup = async (key: string): Promise<Buffer | undefined> => {
    const held = memory.get(key) ?? index.get(key);
    if (held !== undefined) return held;
    await index.refresh(await readdir(dir));
    return index.get(key);
  };

  const answer = (res: ServerResponse, status: number, body: Buffer | null, type = 'application/json; charset=utf-8'): void => {
    res.statusCode = status;
    if (body === null) {
      res.end();
      return;
    }
    res.setHeader('content-type', type);
    res.setHeader('content-length', body.length);
    res.end(body);
  };
  const error = (res: ServerResponse, status: number, message: string): void => answer(res, status, Buffer.from(JSON.stringify({ error: message })));

  const put = (key: string, req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > KV_MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(c);
    });
    req.on('end', () => {
      if (tooLarge) {
        writes.labels('too_large').inc();
        error(res, 413, `a value is at most ${KV_MAX_BODY_BYTES} bytes`);
        return;
      }
      const body = Buffer.concat(chunks, size);
      const start = performance.now();
      if (options.ackBeforeFsync) {
        memory.set(key, body);
        buffered.inc();
        writes.labels('ok').inc();
        writeSeconds.observe((performance.now() - start) / 1000);
        answer(res, 204, null);
        return;
      }
      storeDurably(key, body).then(
        () => {
          writes.labels('ok').inc();
          writeSeconds.observe((performance.now() - start) / 1000);
          if (!res.destroyed) answer(res, 204, null);
        },
        (err: unknown) => {
          writes.labels('error').inc();
          if (!res.destroyed) error(res, 500, `write failed: ${err instanceof Error ? err.message : String(err)}`);
        },
      );
    });
  };

  const get = (key: string, res: ServerResponse): void => {
    lookup(key).then(
      (bytes) => {
        if (bytes === undefined) {
          reads.labels('miss').inc();
          error(res, 404, `no key ${key}`);
          return;
        }
        reads.labels('hit').inc();
        answer(res, 200, bytes, 'application/octet-stream');
      },
      (err: Error) => {
        reads.labels('error').inc();
        error(res, 500, `read failed: ${err.message}`);
      },
    );
  };

  const list = (res: ServerResponse): void => {
    readdir(dir)
      .then((names) => index.refresh(names))
      .then(
        () => {
          const keys = new Set(index.keys());
          for (const k of memory.keys()) keys.add(k);
          answer(res, 200, Buffer.from([...keys].sort().join('\n')), 'text/plain; charset=utf-8');
        },
        (err: Error) => error(res, 500, `list failed: ${err.message}`),
      );
  };

  return {
    dir,
    handles: (url) => url.startsWith(KV_PREFIX),
    handle(req, res) {
      const url = req.url ?? '';
      const q = url.indexOf('?');
      const key = (q === -1 ? url : url.slice(0, q)).slice(KV_PREFIX.length);
      if (key === '' && (req.method === 'GET' || req.method === 'HEAD')) {
        list(res);
        return;
      }
      if (!KEY.test(key)) {
        if (req.method === 'PUT') writes.labels('bad_key').inc();
        req.resume();
        error(res, 400, 'a key is 1-200 characters from A-Z a-z 0-9 . _ ~ - and does not start with a dot');
        return;
      }
      if (req.method === 'PUT') put(key, req, res);
      else if (req.method === 'GET' || req.method === 'HEAD') get(key, res);
      else {
        req.resume();
        res.setHeader('allow', 'GET, HEAD, PUT');
        error(res, 405, `/kv/<key> answers GET and PUT, not ${req.method ?? '?'}`);
      }
    },
    flushSync() {
      const n = memory.size;
      if (n === 0) return 0;
      const fd = openSync(logPath, 'a', 0o600);
      try {
        writeSync(fd, Buffer.concat([...memory].map(([k, v]) => encodeRecord(k, v))));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      memory.clear();
      return n;
    },
  };
}
