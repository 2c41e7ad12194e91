/**
 * A scripted HTTP/1.1 upstream on a raw TCP server, in-process, for proxy tests that need
 * responses no real server sends on demand: heads and chunks split into single bytes, interim
 * 1xx, bodies delimited by close, malformed framing, stray bytes, stalls. It records every
 * connection and the exact bytes of every request it read.
 *
 * Requests are framed minimally (head up to the blank line, then Content-Length bytes); the
 * script for a request is picked by its path (the first one whose prefix matches).
 */
import net from 'node:net';

export interface ScriptedRequest {
  method: string;
  path: string;
  /** The exact head bytes, latin1 (request line + header lines + blank line). */
  head: string;
  body: Buffer;
  /** Index of the connection it came on (order of accept). */
  conn: number;
}

/** What to do with a request: write these pieces in order (pausing `gapMs` between them), then maybe close. */
export interface ScriptedReply {
  pieces: Array<string | Buffer>;
  gapMs?: number;
  /** After the last piece: 'keep' (default), 'end' (FIN), 'destroy' (RST-ish), or 'hang' (write nothing more, keep open). */
  then?: 'keep' | 'end' | 'destroy';
}

export type Script = (req: ScriptedRequest) => ScriptedReply | 'hang' | 'destroy';

export interface ScriptedUpstream {
  port: number;
  /** Requests read so far. */
  requests: ScriptedRequest[];
  /** Accepted connections: whether and how each ended, from this side's point of view. */
  connections: Array<{ endedBy: 'client' | 'server' | null; requests: number }>;
  /** Writes raw bytes on connection i (e.g. stray bytes while it is idle). */
  writeRaw(conn: number, data: string): void;
  close(): Promise<void>;
}

/** Splits a string into 1-byte pieces. */
export function bytewise(s: string): string[] {
  return [...Buffer.from(s, 'latin1')].map((b) => String.fromCharCode(b));
}

export async function startScriptedUpstream(routes: Record<string, Script>): Promise<ScriptedUpstream> {
  const requests: ScriptedRequest[] = [];
  const connections: ScriptedUpstream['connections'] = [];
  const sockets: net.Socket[] = [];
  const pickScript = (path: string): Script | null => {
    for (const [prefix, s] of Object.entries(routes)) if (path.startsWith(prefix)) return s;
    return null;
  };
  const server = net.createServer((socket) => {
    const conn = connections.length;
    const info: ScriptedUpstream['connections'][number] = { endedBy: null, requests: 0 };
    connections.push(info);
    sockets.push(socket);
    let buf = Buffer.alloc(0);
    let busy = false;
    socket.on('end', () => {
      if (info.endedBy === null) info.endedBy = 'client';
    });
    socket.on('error', () => undefined);
    const pump = (): void => {
      if (busy) return;
      const he = buf.indexOf('\r\n\r\n');
      if (he < 0) return;
      const head = buf.subarray(0, he + 4).toString('latin1');
      const m = /content-length:\s*(\d+)/i.exec(head);
      const len = m ? Number(m[1]) : 0;
      if (buf.length < he + 4 + len) return;
      const body = Buffer.from(buf.subarray(he + 4, he + 4 + len));
      buf = buf.subarray(he + 4 + len);
      const [method = '', path = ''] = head.split('\r\n')[0]?.split(' ') ?? [];
      const req: ScriptedRequest = { method, path, head, body, conn };
      requests.push(req);
      info.requests++;
      const script = pickScript(path);
      const reply = script === null ? { pieces: ['HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n'] } : script(req);
      if (reply === 'hang') {
        busy = true;
        return;
      }
      if (reply === 'destroy') {
        info.endedBy = 'server';
        socket.destroy();
        return;
      }
      busy = true;
      const pieces = [...reply.pieces];
      const next = (): void => {
        const p = pieces.shift();
        if (p === undefined) {
          busy = false;
          if (reply.then === 'end') {
            info.endedBy = 'server';
            socket.end();
          } else if (reply.then === 'destroy') {
            info.endedBy = 'server';
            socket.destroy();
          } else pump();
          return;
        }
        socket.write(typeof p === 'string' ? Buffer.from(p, 'latin1') : p);
        if ((reply.gapMs ?? 0) > 0) setTimeout(next, reply.gapMs);
        else setImmediate(next); // separate writes → usually separate TCP segments
      };
      next();
    };
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      pump();
    });
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  return {
    port,
    requests,
    connections,
    writeRaw: (i, data) => {
      sockets[i]?.write(Buffer.from(data, 'latin1'));
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
