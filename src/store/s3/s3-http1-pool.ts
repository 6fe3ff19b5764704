/**
 * @module Http1Pool: keep-alive HTTP/1.1 connections on node:net for the lean S3 path's plain-http
 * endpoints, with bodies read by the kernel straight into the caller's buffer. node:http hands every
 * 64 KiB socket read to its parser as a fresh Buffer, which the reader then copies out and the GC
 * collects: ~2 user-CPU-s per GiB here. With net's `onread`, each read goes into a buffer we name —
 * the response head into a small scratch buffer per connection, the body into the destination at the
 * right offset, bounded to the bytes still expected — so a 4 MiB GET is a few large recv() calls and
 * no allocation (measured: 0.35–0.5 against 2.7–3.1 CPU-s/GiB for node:http, same objects, same run).
 *
 * Only what S3 answers is understood: a status line, headers, and a body framed by Content-Length
 * (or chunked, for small error bodies); no pipelining, one request per connection at a time.
 */
import { connect, type Socket } from 'node:net';
import { IncompleteBodyError } from './s3-body.ts';

/** An answer's status, lower-case headers (repeats joined by `, `) and body. */
export interface Http1Response {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

/** One exchange. */
export interface Http1Request {
  readonly method: string;
  readonly path: string;
  /** Header name → value, sent as given (Host included). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Uint8Array;
  /**
   * Where a 2xx body of `length` bytes goes (undefined: a buffer of the pool's own); may throw to
   * refuse it before any of it is read (the connection is then closed).
   */
  readonly into?: (length: number) => Uint8Array | undefined;
}

/** The most bytes of a response head, and of a body not read into the caller's buffer that is not a 2xx body. */
const HEAD_LIMIT = 16 * 1024;
const OTHER_BODY_LIMIT = 64 * 1024;
const EMPTY = new Uint8Array(0);

/** A named error for a request whose socket went silent (the SDK's name: retried the same way). */
class Http1TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/** A connection closed before a complete answer: retryable, as node:http's `socket hang up` is. */
function hangUp(message: string): Error {
  return Object.assign(new Error(message), { code: 'ECONNRESET' });
}

interface Pending {
  readonly request: Http1Request;
  resolve(r: Http1Response): void;
  reject(e: unknown): void;
  status: number;
  headers: Record<string, string>;
  /** Where the body goes, its expected length, bytes so far; chunked: collected whole, decoded at the end. */
  dest: Uint8Array;
  want: number;
  at: number;
  chunked: boolean;
  /** The request's bytes are all written (until then, an early answer leaves the socket unusable). */
  written: boolean;
  keepAlive: boolean;
}

/** One socket and the request on it. */
class Connection {
  readonly socket: Socket;
  readonly #scratch = new Uint8Array(HEAD_LIMIT);
  #headLength = 0;
  #inBody = false;
  #pending: Pending | undefined;
  #closed = false;
  readonly #release: (c: Connection, reusable: boolean) => void;

  constructor(host: string, port: number, timeoutMs: number, release: (c: Connection, reusable: boolean) => void) {
    this.#release = release;
    this.socket = connect({ host, port, noDelay: true, onread: { buffer: () => this.#nextBuffer(), callback: (n: number) => (this.#onRead(n), true) } });
    this.socket.on('timeout', () => this.#fail(new Http1TimeoutError(`no answer for ${timeoutMs} ms`)));
    this.socket.on('error', (e) => this.#fail(e));
    this.socket.on('close', () => {
      this.#closed = true;
      this.#fail(this.#inBody && this.#pending ? new IncompleteBodyError(`the answer ended after ${this.#pending.at} of its ${this.#pending.want} bytes`) : hangUp('socket hang up'));
    });
    this.socket.setTimeout(timeoutMs);
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(request: Http1Request): Promise<Http1Response> {
    return new Promise((resolve, reject) => {
      this.#pending = { request, resolve, reject, status: 0, headers: {}, dest: EMPTY, want: 0, at: 0, chunked: false, written: false, keepAlive: true };
      let head = `${request.method} ${request.path} HTTP/1.1\r\n`;
      for (const name in request.headers) head += `${name}: ${request.headers[name]}\r\n`;
      const p = this.#pending;
      this.socket.ref();
      this.socket.cork();
      const written = (): void => void (p.written = true);
      const body = request.body && request.body.byteLength > 0 ? request.body : undefined;
      this.socket.write(`${head}\r\n`, 'latin1', body ? undefined : written);
      if (body) this.socket.write(body, written);
      this.socket.uncork();
    });
  }

  /** The buffer the next read goes into: the body's remaining bytes, else the head scratch. */
  #nextBuffer(): Uint8Array {
    const p = this.#pending;
    if (this.#inBody && p) return p.dest.subarray(p.at);
    return this.#scratch.subarray(this.#headLength);
  }

  #onRead(n: number): void {
    const p = this.#pending;
    if (!p) {
      // Nothing asked for: a server speaking out of turn (e.g. a 408 before closing). Not reusable.
      this.socket.destroy();
      return;
    }
    if (this.#inBody) {
      p.at += n;
      if (p.chunked) this.#chunkedProgress(p);
      else if (p.at === p.want) this.#finish(p, p.dest);
      return;
    }
    this.#headLength += n;
    this.#parseHead(p);
  }

  #parseHead(p: Pending): void {
    const scratch = this.#scratch.subarray(0, this.#headLength);
    const end = Buffer.from(scratch.buffer, scratch.byteOffset, scratch.byteLength).indexOf('\r\n\r\n');
    if (end < 0) {
      if (this.#headLength === HEAD_LIMIT) this.#fail(new Error(`the answer's head is over ${HEAD_LIMIT} bytes`));
      return;
    }
    const lines = Buffer.from(scratch.buffer, scratch.byteOffset, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0] ?? '');
    if (!m) return this.#fail(new Error(`not an HTTP answer: ${JSON.stringify(lines[0]?.slice(0, 80))}`));
    const headers: Record<string, string> = {};
    for (let i = 1; i < lines.length; i++) {
      const colon = lines[i]!.indexOf(':');
      if (colon <= 0) continue;
      const name = lines[i]!.slice(0, colon).trim().toLowerCase();
      const value = lines[i]!.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    const status = Number(m[2]);
    const rest = scratch.subarray(end + 4);
    if (status < 200) {
      // An interim answer (100 Continue): the real one follows.
      this.#scratch.copyWithin(0, end + 4, this.#headLength);
      this.#headLength = rest.byteLength;
      if (rest.byteLength > 0) this.#parseHead(p);
      return;
    }
    p.status = status;
    p.headers = headers;
    p.keepAlive = m[1] === '1' ? !/\bclose\b/i.test(headers.connection ?? '') : /\bkeep-alive\b/i.test(headers.connection ?? '');
    const noBody = p.request.method === 'HEAD' || status === 204 || status === 304;
    p.chunked = !noBody && /\bchunked\b/i.test(headers['transfer-encoding'] ?? '');
    const length = noBody ? 0 : p.chunked ? OTHER_BODY_LIMIT : Number(headers['content-length'] ?? NaN);
    if (!Number.isSafeInteger(length) || length < 0) return this.#fail(new Error(`${p.request.method} ${p.request.path}: the answer has no Content-Length`));
    const ok = status >= 200 && status < 300;
    if (!ok && !p.chunked && length > OTHER_BODY_LIMIT) return this.#fail(new Error(`an error answer of ${length} bytes`));
    let dest: Uint8Array | undefined;
    if (ok && !p.chunked && length > 0) {
      try {
        dest = p.request.into?.(length);
      } catch (e) {
        return this.#fail(e);
      }
    }
    p.dest = dest ?? (length === 0 ? EMPTY : new Uint8Array(length));
    p.want = length;
    this.#headLength = 0;
    // Body bytes that came with the head; never more than the body (no pipelining: nothing follows it).
    if (rest.byteLength > length) return this.#fail(new Error('the answer ran past its Content-Length'));
    p.dest.set(rest, 0);
    p.at = rest.byteLength;
    if (p.chunked) {
      this.#inBody = true;
      this.#chunkedProgress(p);
    } else if (p.at === length) this.#finish(p, p.dest);
    else this.#inBody = true;
  }

  /** A chunked body, collected whole (bounded), done when its last chunk has arrived. */
  #chunkedProgress(p: Pending): void {
    const body = decodeChunked(p.dest.subarray(0, p.at));
    if (body) this.#finish(p, body);
    else if (p.at === p.want) this.#fail(new Error(`a chunked answer over ${OTHER_BODY_LIMIT} bytes`));
  }

  #finish(p: Pending, body: Uint8Array): void {
    this.#pending = undefined;
    this.#inBody = false;
    const reusable = p.keepAlive && p.written && !this.#closed;
    this.socket.unref();
    this.#release(this, reusable);
    p.resolve({ status: p.status, headers: p.headers, body });
  }

  #fail(e: unknown): void {
    const p = this.#pending;
    this.#pending = undefined;
    this.#inBody = false;
    if (!this.#closed) this.socket.destroy();
    this.#release(this, false);
    p?.reject(e);
  }
}

/** The body of a complete chunked encoding in `raw`, or undefined while it is incomplete. */
function decodeChunked(raw: Uint8Array): Uint8Array | undefined {
  const b = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = b.indexOf('\r\n', at);
    if (eol < 0) return undefined;
    const size = parseInt(b.toString('latin1', at, eol).split(';')[0]!, 16);
    if (!Number.isSafeInteger(size) || size < 0) throw new Error('a malformed chunked answer');
    // The last chunk, then trailers (none, usually) up to an empty line.
    if (size === 0) return b.indexOf('\r\n\r\n', eol) >= 0 ? new Uint8Array(Buffer.concat(parts)) : undefined;
    if (eol + 2 + size + 2 > b.byteLength) return undefined;
    parts.push(b.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

/** Keep-alive connections to one `host:port`. */
export class Http1Pool {
  readonly #host: string;
  readonly #port: number;
  readonly #timeoutMs: number;
  readonly #idle: Connection[] = [];
  readonly #all = new Set<Connection>();

  constructor(host: string, port: number, timeoutMs: number) {
    this.#host = host;
    this.#port = port;
    this.#timeoutMs = timeoutMs;
  }

  /** One request on an idle connection, or a new one (the store's semaphore bounds how many). */
  send(request: Http1Request): Promise<Http1Response> {
    let c: Connection | undefined;
    while ((c = this.#idle.pop()) && c.closed) this.#all.delete(c);
    if (!c) {
      c = new Connection(this.#host, this.#port, this.#timeoutMs, (conn, reusable) => this.#release(conn, reusable));
      this.#all.add(c);
    }
    return c.send(request);
  }

  #release(c: Connection, reusable: boolean): void {
    if (reusable) this.#idle.push(c);
    else {
      this.#all.delete(c);
      if (!c.closed) c.socket.destroy();
    }
  }

  /** Closes every connection. */
  destroy(): void {
    for (const c of this.#all) c.socket.destroy();
    this.#all.clear();
    this.#idle.length = 0;
  }
}
