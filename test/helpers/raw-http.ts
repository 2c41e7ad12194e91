/**
 * One raw HTTP/1.1 keep-alive connection under the test's full control: write a request when the
 * test says so, read the response (Content-Length bodies), and see exactly when the server
 * closed the socket. For tests about idle keep-alive sockets across a shutdown.
 */
import net, { type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Map<string, string>;
  body: string;
}

export class RawConnection {
  readonly socket: Socket;
  private buf: Buffer = Buffer.alloc(0);
  private waiter: { resolve: (r: RawResponse) => void; reject: (e: Error) => void } | null = null;
  /** performance.now() when the socket closed, or null while open. */
  closedAt: number | null = null;
  /** True when the server ended or reset the socket (not us). */
  closedByPeer = false;
  lastError: string | null = null;
  readonly connected: Promise<void>;
  readonly closed: Promise<void>;

  constructor(port: number, host = '127.0.0.1') {
    this.socket = net.connect({ port, host });
    this.socket.setNoDelay(true);
    this.connected = new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', (err) => reject(err));
    });
    this.connected.catch(() => undefined);
    this.closed = new Promise((resolve) => {
      this.socket.on('end', () => {
        this.closedByPeer = true;
      });
      this.socket.on('error', (err: NodeJS.ErrnoException) => {
        this.lastError = err.code ?? err.message;
        if (err.code === 'ECONNRESET') this.closedByPeer = true;
      });
      this.socket.on('close', () => {
        this.closedAt = performance.now();
        this.waiter?.reject(new Error(`connection closed before a complete response (${this.lastError ?? 'FIN'})`));
        this.waiter = null;
        resolve();
      });
    });
    this.socket.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      this.tryParse();
    });
  }

  get isOpen(): boolean {
    return this.closedAt === null;
  }

  private tryParse(): void {
    const headEnd = this.buf.indexOf('\r\n\r\n');
    if (headEnd === -1 || this.waiter === null) return;
    const lines = this.buf.subarray(0, headEnd).toString('latin1').split('\r\n');
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const c = line.indexOf(':');
      if (c > 0) headers.set(line.slice(0, c).trim().toLowerCase(), line.slice(c + 1).trim());
    }
    const len = Number(headers.get('content-length') ?? '0');
    if (this.buf.length < headEnd + 4 + len) return;
    const body = this.buf.subarray(headEnd + 4, headEnd + 4 + len).toString('utf8');
    this.buf = this.buf.subarray(headEnd + 4 + len);
    const w = this.waiter;
    this.waiter = null;
    w.resolve({ status: Number((lines[0] ?? '').split(' ')[1]), headers, body });
  }

  /** Writes one request and resolves with its response; rejects if the socket closes first or on timeout. */
  async send(method: string, path: string, headers: Record<string, string> = {}, timeoutMs = 5000): Promise<RawResponse> {
    await this.connected;
    if (!this.isOpen) throw new Error(`connection already closed (${this.closedByPeer ? 'by the server' : 'locally'}) before the request was written`);
    let head = `${method} ${path} HTTP/1.1\r\nhost: localhost\r\n`;
    for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
    head += '\r\n';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`no response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.socket.write(head);
    });
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Resolves with the connect error code (e.g. "ECONNREFUSED"), or "connected" if it connected. */
export function probeConnect(port: number, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}
