// The HTTP endpoint Prometheus scrapes (`live --metrics HOST:PORT`): GET /metrics, nothing else.
// Bound before bpftrace starts, so a port in use fails the run at once, with what to do.
import { createServer, type Server } from 'node:http';
import { ZctraceError } from '../util/errors.js';
import type { Metrics } from './metrics.js';

/** A listening metrics endpoint; `close()` stops it. */
export interface MetricsServer {
  /** "host:port" actually bound (port 0 picks a free one). */
  address: string;
  close(): Promise<void>;
}

export async function serveMetrics(m: Metrics, host: string, port: number): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      m.text().then(
        (body) => res.writeHead(200, { 'content-type': m.contentType }).end(req.method === 'HEAD' ? undefined : body),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
      );
    } else if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body><a href="/metrics">zctrace metrics</a></body></html>\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: zctrace serves /metrics\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const hint = err.code === 'EADDRINUSE' ? 'another process listens there: choose another port with --metrics HOST:PORT'
        : err.code === 'EADDRNOTAVAIL' ? 'that address is not one of this host\'s' : undefined;
      reject(new MetricsError(`--metrics ${host}:${port}: cannot listen (${err.code ?? err.message})`, hint));
    });
    server.listen(port, host, () => resolve());
  });
  const a = server.address();
  const address = typeof a === 'object' && a !== null ? `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : `${host}:${port}`;
  return {
    address,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** The metrics endpoint could not be opened. */
export class MetricsError extends ZctraceError {}
