/**
 * Request ids for services that do not echo them.
 *
 * The proof wants every 2xx to come back with its own `x-zerodrop-id`. Most third-party servers
 * (nginx, a Go service, anything) never echo a header they do not know. The data plane can still
 * attest the id: it forwarded this request on this upstream connection, one request at a time,
 * and this is the response that came back on it. So when the service does not echo, the proxy
 * puts the request's own id on the response it forwards; the driver then checks it end to end
 * like any other id (a proxy that mixed up responses still shows as a mismatch).
 *
 * Modes: 'echo' — the service echoes (the end-to-end check, nothing added); 'attest' — declared
 * non-echoing (`target.echoesId: false`); 'auto' — decided once, from the first upstream 2xx:
 * if it carried the id the service echoes (a later 2xx without it is the service's fault and stays
 * a mismatch), else the data plane attests from then on. A response that carries an id is never
 * rewritten: a wrong echo stays wrong.
 */

export const ID_HEADER = 'x-zerodrop-id';

export type IdMode = 'auto' | 'echo' | 'attest';

/** What the data plane decided and did; part of ProxyStats. */
export interface IdAttestationStats {
  /** echo: the service echoes; attest: the data plane attests; undecided: no upstream 2xx yet. */
  mode: 'echo' | 'attest' | 'undecided';
  /** declared: set by the scenario; detected: from the first upstream 2xx. */
  source: 'declared' | 'detected';
  /** Responses that got their request's id from the data plane. */
  attested: number;
}

export const ID_MODES: readonly IdMode[] = ['auto', 'echo', 'attest'];

const UNDECIDED = 0;
const ECHO = 1;
const ATTEST = 2;

export class IdAttestor {
  private state: number;
  private readonly declared: boolean;
  attested = 0;

  constructor(mode: IdMode = 'auto') {
    this.declared = mode !== 'auto';
    this.state = mode === 'echo' ? ECHO : mode === 'attest' ? ATTEST : UNDECIDED;
  }

  /** True when nothing will ever be added (the hot path skips the call). */
  get passive(): boolean {
    return this.state === ECHO;
  }

  /**
   * An upstream response head is about to be forwarded: add the request's id when this data plane
   * attests and the response carries none. `requestRaw` is the downstream request's raw headers
   * (name, value, ...), `headers` the response's forwarded ones (mutated).
   */
  onResponse(status: number, requestRaw: readonly string[], headers: string[]): void {
    if (this.state === ECHO) return;
    const has = hasHeader(headers, ID_HEADER);
    if (this.state === UNDECIDED) {
      if (status < 200 || status >= 300) return;
      this.state = has ? ECHO : ATTEST;
      if (this.state === ECHO) return;
    }
    if (has) return;
    const id = headerValue(requestRaw, ID_HEADER);
    if (id === null) return;
    headers.push(ID_HEADER, id);
    this.attested++;
  }

  stats(): IdAttestationStats {
    return {
      mode: this.state === ECHO ? 'echo' : this.state === ATTEST ? 'attest' : 'undecided',
      source: this.declared ? 'declared' : 'detected',
      attested: this.attested,
    };
  }
}

/** ProxyConfig.ids for a scenario's target.echoesId (unset → detected). */
export function idModeFor(echoesId: boolean | undefined): IdMode {
  return echoesId === undefined ? 'auto' : echoesId ? 'echo' : 'attest';
}

function hasHeader(flat: readonly string[], lower: string): boolean {
  for (let i = 0; i < flat.length; i += 2) {
    const n = flat[i] as string;
    if (n.length === lower.length && n.toLowerCase() === lower) return true;
  }
  return false;
}

function headerValue(flat: readonly string[], lower: string): string | null {
  for (let i = 0; i < flat.length; i += 2) {
    const n = flat[i] as string;
    if (n.length === lower.length && n.toLowerCase() === lower) return flat[i + 1] as string;
  }
  return null;
}
