/**
 * The on-disk form of sample-app's /kv store: one append-only log per replica on the shared
 * volume (<replica>.kvlog), each record `<key> <value bytes>\n<value>\n`. A replica appends and
 * fsyncs its own log (a group commit covers every write appended before it: one fsync for many
 * writes, as a database's write-ahead log does), and reads every log on the volume, so what one
 * replica acknowledged is readable from the next. A record cut short at a log's tail (a write
 * that was never acknowledged) is ignored until its bytes are complete.
 */
import { closeSync, openSync, readSync, fstatSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';

export const LOG_SUFFIX = '.kvlog';

export function encodeRecord(key: string, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${key} ${value.length}\n`, 'latin1'), value, Buffer.from('\n', 'latin1')]);
}

/**
 * Parses the complete records of `buf` into `into`; returns how many bytes they took (the rest
 * is an incomplete tail, read again next time).
 */
export function parseRecords(buf: Buffer, into: Map<string, Buffer>): number {
  let pos = 0;
  for (;;) {
    const nl = buf.indexOf(10, pos);
    if (nl === -1 || nl - pos > 256) return pos;
    const head = buf.toString('latin1', pos, nl);
    const sp = head.indexOf(' ');
    const len = sp > 0 ? Number(head.slice(sp + 1)) : Number.NaN;
    if (!Number.isSafeInteger(len) || len < 0) return pos; // not a record: stop here (never skip bytes)
    const end = nl + 1 + len;
    if (end + 1 > buf.length) return pos;
    into.set(head.slice(0, sp), Buffer.from(buf.subarray(nl + 1, end)));
    pos = end + 1;
  }
}

/** Every key of every log in a directory, read incrementally (each log from where it was left). */
export class KvIndex {
  private readonly values = new Map<string, Buffer>();
  private readonly offsets = new Map<string, number>();
  private refreshing: Promise<void> | null = null;
  private next: Promise<void> | null = null;

  constructor(private readonly dir: string) {}

  get(key: string): Buffer | undefined {
    return this.values.get(key);
  }

  set(key: string, value: Buffer): void {
    this.values.set(key, value);
  }

  keys(): IterableIterator<string> {
    return this.values.keys();
  }

  /** Reads the new bytes of every log (at start-up). */
  refreshSync(names: string[]): void {
    for (const name of names.filter((n) => n.endsWith(LOG_SUFFIX))) {
      const fd = openSync(join(this.dir, name), 'r');
      try {
        const from = this.offsets.get(name) ?? 0;
        const size = fstatSync(fd).size;
        if (size <= from) continue;
        const buf = Buffer.alloc(size - from);
        readSync(fd, buf, 0, buf.length, from);
        this.offsets.set(name, from + parseRecords(buf, this.values));
      } finally {
        closeSync(fd);
      }
    }
  }

  /**
   * Reads the new bytes of every log. Concurrent callers share one pass; a caller that arrives
   * during a pass gets the next one (its key may have been written after the pass began).
   */
  refresh(names: string[]): Promise<void> {
    if (this.refreshing === null) {
      this.refreshing = this.pass(names).finally(() => {
        this.refreshing = null;
      });
      return this.refreshing;
    }
    this.next ??= this.refreshing.then(() => {
      this.next = null;
      return this.refresh(names);
    });
    return this.next;
  }

  private async pass(names: string[]): Promise<void> {
    for (const name of names.filter((n) => n.endsWith(LOG_SUFFIX))) {
      const fh = await open(join(this.dir, name), 'r');
      try {
        const from = this.offsets.get(name) ?? 0;
        const size = (await fh.stat()).size;
        if (size <= from) continue;
        const buf = Buffer.alloc(size - from);
        await fh.read(buf, 0, buf.length, from);
        this.offsets.set(name, from + parseRecords(buf, this.values));
      } finally {
        await fh.close();
      }
    }
  }
}
