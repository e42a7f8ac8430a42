/**
 * A tiny HTTP server for /healthz and /metrics: GET/HEAD on exact paths, 404 otherwise,
 * 405 for other methods. `close()` stops listening and drops keep-alive connections, so
 * shutdown never waits on an idle scraper.
 *
 * @category agent
 */
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface Reply {
  readonly status: number;
  readonly body: string;
  readonly contentType?: string;
}

export type Route = () => Reply | Promise<Reply>;

export interface HttpServer {
  /** The bound port (the real one when 0 was asked). */
  readonly port: number;
  readonly address: string;
  close(): Promise<void>;
}

/**
 * Listens on `host:port` (host "" = every address, as upstream). Rejects when the address
 * cannot be bound (upstream fails startup then too), with the address in the message.
 */
export function serveHttp(host: string, port: number, routes: ReadonlyMap<string, Route>): Promise<HttpServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const route = routes.get(path);
    if (route === undefined) { res.writeHead(404, { "content-type": "text/plain" }).end("not found\n"); return; }
    if (req.method !== "GET" && req.method !== "HEAD") { res.writeHead(405, { "content-type": "text/plain", allow: "GET, HEAD" }).end(); return; }
    Promise.resolve()
      .then(route)
      .then(
        (r) => res.writeHead(r.status, { "content-type": r.contentType ?? "text/plain; charset=utf-8" }).end(req.method === "HEAD" ? undefined : r.body),
        (e: unknown) => res.writeHead(500, { "content-type": "text/plain" }).end(`error: ${(e as Error).message}\n`),
      );
  });
  server.keepAliveTimeout = 5000;
  return new Promise((resolve, reject) => {
    server.once("error", (e) => reject(new Error(`cannot listen on ${host || "*"}:${port}: ${e.message}`)));
    server.listen(port, host === "" ? undefined : host, () => {
      const a = server.address() as AddressInfo;
      resolve({
        port: a.port,
        address: a.address,
        close: () => new Promise<void>((done) => {
          server.close(() => done());
          server.closeAllConnections();
        }),
      });
    });
  });
}
