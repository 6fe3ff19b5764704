/**
 * Http1Pool (store/s3/s3-http1-pool.ts), the lean S3 path's own HTTP/1.1 connections, against a real
 * node:http server for the framings RGW does not send on its own: chunked bodies, interim 1xx answers,
 * `Connection: close`, answers that lie about their length, and heads out of bounds.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Http1Pool } from '../../src/store/s3/s3-http1-pool.ts';

/** A server running `handle` for each request; counts connections. */
async function withServer(handle: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void, body: (pool: Http1Pool, connections: () => number) => Promise<void>): Promise<void> {
  let connections = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  // The socket timeout is not what these tests exercise: long enough never to fire on a loaded machine.
  const pool = new Http1Pool('127.0.0.1', (server.address() as AddressInfo).port, 600_000);
  try {
    await body(pool, () => connections);
  } finally {
    pool.destroy();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

const get = (path: string, into?: (n: number) => Uint8Array | undefined) => ({ method: 'GET', path, headers: { host: 'x' }, ...(into ? { into } : {}) });

test('bodies of every size land in the caller buffer whole, over one kept-alive connection; PUT bodies arrive whole', async () => {
  const sizes = [0, 1, 100, 16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1, 65_536 * 3 + 17, 4 * 1024 * 1024 + 3];
  const patterns = new Map<number, Buffer>();
  const pattern = (n: number): Buffer => {
    let b = patterns.get(n);
    if (!b) {
      b = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) b[i] = (i * 31 + n) & 255;
      patterns.set(n, b);
    }
    return b;
  };
  await withServer(
    (req, res, body) => {
      if (req.method === 'PUT') {
        res.writeHead(200, { 'content-length': 0, etag: String(body.equals(pattern(body.byteLength))) + body.byteLength });
        res.end();
        return;
      }
      const b = pattern(Number(req.url!.slice(1)));
      res.writeHead(200, { 'content-length': b.byteLength });
      res.end(b);
    },
    async (pool, connections) => {
      for (const n of sizes) {
        const buffer = new Uint8Array(n);
        const res = await pool.send(get(`/${n}`, (length) => (assert.equal(length, n), buffer)));
        assert.equal(res.status, 200);
        if (n > 0) assert.equal(res.body, buffer, 'read into the caller buffer');
        assert.ok(Buffer.from(res.body).equals(pattern(n)), `GET of ${n} bytes`);
        const put = await pool.send({ method: 'PUT', path: '/p', headers: { host: 'x', 'content-length': String(n) }, body: pattern(n) });
        assert.equal(put.headers.etag, `true${n}`);
      }
      assert.equal(connections(), 1);
    },
  );
});

test('a chunked body and an interim 102 answer before the real one are read; HEAD answers have no body whatever their length says', async () => {
  await withServer(
    (req, res) => {
      if (req.method === 'HEAD') {
        res.writeHead(200, { 'content-length': 12345 });
        res.end();
        return;
      }
      res.writeProcessing();
      // No content-length: node:http sends the body chunked, in two chunks.
      res.writeHead(503, { 'content-type': 'application/xml' });
      res.write('<Error><Code>SlowDown</Code>');
      setImmediate(() => res.end('<Message>later</Message></Error>'));
    },
    async (pool, connections) => {
      for (let i = 0; i < 3; i++) {
        const res = await pool.send(get('/e'));
        assert.equal(res.status, 503);
        assert.equal(Buffer.from(res.body).toString(), '<Error><Code>SlowDown</Code><Message>later</Message></Error>');
        const head = await pool.send({ method: 'HEAD', path: '/h', headers: { host: 'x' } });
        assert.equal(head.headers['content-length'], '12345');
        assert.equal(head.body.byteLength, 0);
      }
      assert.equal(connections(), 1);
    },
  );
});

test('an answer with Connection: close is not reused: the next request opens a new connection and succeeds', async () => {
  await withServer(
    (_req, res) => {
      res.writeHead(200, { 'content-length': 2, connection: 'close' });
      res.end('ok');
    },
    async (pool, connections) => {
      for (let i = 0; i < 3; i++) assert.equal(Buffer.from((await pool.send(get('/c'))).body).toString(), 'ok');
      assert.equal(connections(), 3);
    },
  );
});

test('a body cut short is an IncompleteBody error; a refused length, a missing length and an oversized head fail the request and close its connection', async () => {
  await withServer(
    (req, res) => {
      if (req.url === '/short') {
        res.writeHead(200, { 'content-length': 1000 });
        res.write(Buffer.alloc(10), () => res.socket?.destroy());
      } else if (req.url === '/big-head') {
        res.writeHead(200, { 'content-length': 0, 'x-pad': 'p'.repeat(20_000) });
        res.end();
      } else if (req.url === '/no-length') {
        // A body framed by the connection's end (HTTP/1.0 style): node:http would send it chunked.
        req.socket.end('HTTP/1.1 200 OK\r\n\r\nabc');
      } else {
        res.writeHead(200, { 'content-length': 5 });
        res.end('hello');
      }
    },
    async (pool, connections) => {
      await assert.rejects(pool.send(get('/short')), (e: Error) => e.name === 'IncompleteBody' && /10 of its 1000/.test(e.message));
      await assert.rejects(pool.send(get('/refuse', () => { throw new Error('too long'); })), /too long/);
      await assert.rejects(pool.send(get('/big-head')), /head is over/);
      await assert.rejects(pool.send(get('/no-length')), /no Content-Length/);
      assert.equal(Buffer.from((await pool.send(get('/ok'))).body).toString(), 'hello');
      assert.equal(connections(), 5);
    },
  );
});
