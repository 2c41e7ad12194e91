/**
 * One raw exchange on a fresh TCP connection: write exactly these bytes, read one response (or
 * whatever arrives before the server closes). For requests no HTTP client library will send:
 * garbage, hop-by-hop headers, absolute-form targets, CONNECT, huge headers.
 */
import net from 'node:net';

export interface RawReply {
  /** 0 when no status line arrived (the connection closed or timed out first). */
  status: number;
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Map<string, string>;
  body: string;
  /** Everything received. */
  raw: string;
  /** How it ended: 'response' (complete Content-Length response), 'closed', 'timeout', or an error code. */
  end: string;
}

export function parseHead(text: string): { status: number; headers: Map<string, string>; headEnd: number } | null {
  const headEnd = text.indexOf('\r\n\r\n');
  if (headEnd === -1) return null;
  const lines = text.slice(0, headEnd).split('\r\n');
  const status = Number((lines[0] ?? '').split(' ')[1]);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const c = line.indexOf(':');
    if (c <= 0) continue;
    const k = line.slice(0, c).trim().toLowerCase();
    const v = line.slice(c + 1).trim();
    headers.set(k, headers.has(k) ? `${headers.get(k)}, ${v}` : v);
  }
  return { status, headers, headEnd };
}

export function rawRequest(port: number, data: string | Buffer, timeoutMs = 5000): Promise<RawReply> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    let done = false;
    let lastError: string | null = null;
    const finish = (end: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const raw = buf.toString('latin1');
      const head = parseHead(raw);
      resolve({
        status: head?.status ?? 0,
        headers: head?.headers ?? new Map<string, string>(),
        body: head ? raw.slice(head.headEnd + 4) : '',
        raw,
        end,
      });
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    socket.on('connect', () => socket.write(data));
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const head = parseHead(buf.toString('latin1'));
      const cl = head?.headers.get('content-length');
      if (head && cl !== undefined && buf.length >= head.headEnd + 4 + Number(cl)) finish('response');
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      lastError = err.code ?? err.message;
    });
    socket.on('close', () => finish(lastError ?? 'closed'));
  });
}
