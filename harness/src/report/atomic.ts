/**
 * Atomic file writes: a temp file in the same directory, fsync, rename over the target, fsync
 * the directory. A reader (CI uploading artifacts, a browser reloading report.html) sees the old
 * file or the new one, never half of one; a crash leaves at most a `.name.<pid>.<rand>.tmp`.
 */
import { randomBytes } from 'node:crypto';
import { open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export type AtomicData = string | Uint8Array | Iterable<string> | AsyncIterable<string>;

/** Temp files this module creates: `.result.json.1234.9f8e7d6c.tmp`. */
export const TEMP_FILE = /^\..+\.\d+\.[0-9a-f]{8}\.tmp$/;

const FLUSH_BYTES = 1 << 16;

function isAsyncIterable(x: unknown): x is AsyncIterable<string> {
  return typeof x === 'object' && x !== null && Symbol.asyncIterator in x;
}

export async function writeFileAtomic(path: string, data: AtomicData): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o644);
  let closed = false;
  try {
    if (typeof data === 'string' || data instanceof Uint8Array) {
      await fh.writeFile(data);
    } else {
      let buf: string[] = [];
      let size = 0;
      const flush = async (): Promise<void> => {
        if (buf.length) await fh.write(buf.join(''));
        buf = [];
        size = 0;
      };
      const push = async (chunk: string): Promise<void> => {
        buf.push(chunk);
        size += chunk.length;
        if (size >= FLUSH_BYTES) await flush();
      };
      if (isAsyncIterable(data)) for await (const chunk of data) await push(chunk);
      else for (const chunk of data) await push(chunk);
      await flush();
    }
    await fh.sync();
    await fh.close();
    closed = true;
    await rename(tmp, path);
  } catch (err) {
    if (!closed) await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await syncDir(dir);
}

/** fsync a directory so the rename itself is durable (best effort: not every FS allows it). */
export async function syncDir(dir: string): Promise<void> {
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // EISDIR/EINVAL/EPERM on some platforms and filesystems: the data itself was synced.
  }
}

/** Removes temp files a crashed writer left behind (ours only, by name). */
export async function removeStaleTemps(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  const stale = names.filter((n) => TEMP_FILE.test(n) && !writerAlive(n));
  await Promise.all(stale.map((n) => unlink(join(dir, n)).catch(() => undefined)));
}

/** A temp file whose writer is still running (this process or another) is not stale. */
function writerAlive(name: string): boolean {
  const pid = Number(/\.(\d+)\.[0-9a-f]{8}\.tmp$/.exec(name)?.[1]);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
