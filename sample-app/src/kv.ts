/**
 * sample-app's durable key-value routes, on the Deployment's volume (the data directory):
 *
 *   PUT /kv/<key>   stores the body; the 2xx goes out only once the bytes are on disk: write a
 *                   temporary file, fsync it, rename it over the key, fsync the directory (the
 *                   rename itself must survive a crash). 204, or 413 / 400 / 500 with a reason.
 *   GET /kv/<key>   the stored bytes exactly (200), or 404.
 *   GET /kv/        every stored key, one per line: a read-back finds writes nobody acknowledged.
 *
 * Two switches break the storage rules on purpose (negative controls, config.ts):
 *   ack-before-fsync     writes are acknowledged from memory and reach the disk only at a graceful
 *                        exit: a SIGKILL (a zone crash) loses every one of them;
 *   volume-per-replica   each replica stores under its own subdirectory (an emptyDir, not a shared
 *                        volume): what v1 wrote is not there for v2 after a rollout.
 */
import { mkdirSync, openSync, closeSync, fsyncSync, writeFileSync, renameSync } from 'node:fs';
import { open, readFile, readdir, rename, unlink } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Counter, Histogram, type Registry } from 'prom-client';

export const KV_PREFIX = '/kv/';
export const KV_MAX_BODY_BYTES = 64 * 1024;
/** A key is a file name: no dot first (temporary files), no slash, bounded. */
const KEY = /^[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,199}$/;

export interface KvOptions {
  /** The volume's mount point (ZERODROP_DATA_DIR). */
  dir: string;
  /** Fault ack-before-fsync: acknowledge from memory, flush at a graceful exit only. */
  ackBeforeFsync: boolean;
  /** Fault volume-per-replica: store under <dir>/<replica>. */
  perReplica: string | null;
  registry: Registry;
}

export interface KvStore {
  /** Where keys are stored (the volume, or the replica's own subdirectory under fault volume-per-replica). */
  readonly dir: string;
  /** true for the request targets this module answers. */
  handles(url: string): boolean;
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Writes what is held in memory (fault ack-before-fsync) to disk; returns how many. Sync: called on exit. */
  flushSync(): number;
}

type WriteResult = 'ok' | 'bad_key' | 'too_large' | 'error';
type ReadResult = 'hit' | 'miss' | 'error';

export function createKvStore(options: KvOptions): KvStore {
  const dir = options.perReplica === null ? options.dir : join(options.dir, options.perReplica);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
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
    help: 'PUT /kv/<key> from the last body byte to the acknowledgement (write, fsync, rename, directory fsync)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [options.registry],
  });
  const buffered = new Counter({
    name: 'zerodrop_sample_app_kv_unsynced_acks_total',
    help: 'writes acknowledged before they reached the disk (fault ack-before-fsync; 0 when the app keeps the rule)',
    registers: [options.registry],
  });
  for (const r of ['ok', 'bad_key', 'too_large', 'error'] satisfies WriteResult[]) writes.labels(r);
  for (const r of ['hit', 'miss', 'error'] satisfies ReadResult[]) reads.labels(r);

  /** Fault ack-before-fsync only: acknowledged, not on disk. */
  const memory = new Map<string, Buffer>();
  let tmpSeq = 0;

  // Group commit of the directory fsync: renames done before a sync starts are covered by it.
  let dirSyncRunning: Promise<void> | null = null;
  let dirSyncQueued: Promise<void> | null = null;
  const syncDirOnce = async (): Promise<void> => {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  };
  const syncDir = (): Promise<void> => {
    if (dirSyncRunning === null) {
      dirSyncRunning = syncDirOnce().finally(() => (dirSyncRunning = null));
      return dirSyncRunning;
    }
    dirSyncQueued ??= dirSyncRunning
      .catch(() => undefined)
      .then(() => {
        dirSyncQueued = null;
        return syncDir();
      });
    return dirSyncQueued;
  };

  const storeDurably = async (key: string, body: Buffer): Promise<void> => {
    const tmp = join(dir, `.${key}.${process.pid}.${tmpSeq++}.tmp`);
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(body);
      await fh.sync();
    } catch (err) {
      await fh.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    await fh.close();
    await rename(tmp, join(dir, key));
    await syncDir();
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
    const held = memory.get(key);
    if (held !== undefined) {
      reads.labels('hit').inc();
      answer(res, 200, held, 'application/octet-stream');
      return;
    }
    readFile(join(dir, key)).then(
      (bytes) => {
        reads.labels('hit').inc();
        answer(res, 200, bytes, 'application/octet-stream');
      },
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') {
          reads.labels('miss').inc();
          error(res, 404, `no key ${key}`);
        } else {
          reads.labels('error').inc();
          error(res, 500, `read failed: ${err.message}`);
        }
      },
    );
  };

  const list = (res: ServerResponse): void => {
    readdir(dir).then(
      (names) => {
        const keys = new Set(names.filter((n) => KEY.test(n)));
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
      let n = 0;
      for (const [key, body] of memory) {
        const tmp = join(dir, `.${key}.${process.pid}.${tmpSeq++}.tmp`);
        writeFileSync(tmp, body, { mode: 0o600 });
        const fd = openSync(tmp, 'r+');
        fsyncSync(fd);
        closeSync(fd);
        renameSync(tmp, join(dir, key));
        n++;
      }
      memory.clear();
      if (n > 0) {
        const fd = openSync(dir, 'r');
        fsyncSync(fd);
        closeSync(fd);
      }
      return n;
    },
  };
}
