/**
 * The raw upstream client's response parser: the shared minimal HTTP/1.1 parser
 * (common/http1-parser.ts) plus what the proxy forwards, header strings for kept fields only,
 * hop-by-hop fields recognised on the bytes.
 */
import { Http1ResponseParser, eqLower, latin1, lowerBytes, sameLatin1 } from '../../../common/src/http1-parser.js';
import { HDR_CONTENT_LENGTH, HDR_EXPECT, HDR_FORWARD, HDR_HOST, connectionTokens, headerKind } from './http-semantics.js';

const N_CONNECTION = lowerBytes('connection');
const N_KEEP_ALIVE = lowerBytes('keep-alive');
const N_TRANSFER_ENCODING = lowerBytes('transfer-encoding');
const V_KEEP_ALIVE = lowerBytes('keep-alive');
const V_CLOSE = lowerBytes('close');

export interface ParserOwner {
  onHeadEnd(): void;
  onBody(b: Buffer, s: number, e: number): void;
}

/** Header fields remembered per position (a replica sends the same ones in the same order). */
const FIELD_CACHE_SLOTS = 32;

/**
 * The shared parser plus what the proxy forwards: header strings for kept fields only. A
 * connection talks to one replica, whose responses repeat their header names and most values
 * (content-type, x-served-by, content-length, date within a second) in the same order: the
 * strings of the previous response at the same position are reused when the bytes are equal,
 * which costs a byte compare instead of a native string allocation.
 */
export class UpstreamParser extends Http1ResponseParser {
  headers: string[] = [];
  hasLength = false;
  connDrop: string[] | null = null;
  private field = 0;
  private readonly names: Array<string | undefined> = [];
  private readonly values: Array<string | undefined> = [];

  constructor(
    private readonly conn: ParserOwner,
    maxHeadBytes: number,
  ) {
    super(maxHeadBytes);
  }

  /** Chunked and Content-Length together (a smuggling shape: refused). */
  lengthAndChunked(): boolean {
    return this.chunked && this.contentLength >= 0;
  }

  protected override resetHead(): void {
    super.resetHead();
    if (this.headers.length > 0) this.headers = [];
    this.hasLength = false;
    this.connDrop = null;
    this.field = 0;
  }

  protected override onField(b: Buffer, ns: number, nl: number, vs: number, ve: number): void {
    const i = this.field++;
    // Hop-by-hop fields every Node replica sends are recognised on the bytes, without a string.
    if (nl === 10) {
      if (eqLower(b, ns, N_CONNECTION)) {
        const vl = ve - vs;
        if ((vl === 10 && eqLower(b, vs, V_KEEP_ALIVE)) || (vl === 5 && eqLower(b, vs, V_CLOSE))) return;
        const t = connectionTokens(latin1(b, vs, ve));
        if (t !== null) this.connDrop = this.connDrop === null ? t : this.connDrop.concat(t);
        return;
      }
      if (eqLower(b, ns, N_KEEP_ALIVE)) return;
    } else if (nl === 17 && eqLower(b, ns, N_TRANSFER_ENCODING)) {
      return; // the body is de-chunked here; node:http frames it again downstream
    }
    let name: string | undefined;
    let value: string | undefined;
    if (i < FIELD_CACHE_SLOTS) {
      name = this.names[i];
      if (name === undefined || !sameLatin1(name, b, ns, nl)) this.names[i] = name = latin1(b, ns, ns + nl);
    } else name = latin1(b, ns, ns + nl);
    const kind = headerKind(name);
    if (kind === HDR_FORWARD || kind === HDR_HOST || kind === HDR_EXPECT || kind === HDR_CONTENT_LENGTH) {
      if (kind === HDR_CONTENT_LENGTH) this.hasLength = true;
      if (i < FIELD_CACHE_SLOTS) {
        value = this.values[i];
        if (value === undefined || !sameLatin1(value, b, vs, ve - vs)) this.values[i] = value = latin1(b, vs, ve);
      } else value = latin1(b, vs, ve);
      this.headers.push(name, value);
    }
    // HDR_DROP, HDR_UPGRADE, HDR_TRANSFER_ENCODING, HDR_CONNECTION (handled above): hop-by-hop, not forwarded
  }

  protected override onHeadEnd(): void {
    this.conn.onHeadEnd();
  }

  protected override onBody(b: Buffer, s: number, e: number): void {
    this.conn.onBody(b, s, e);
  }
}
