// A scriptable HTTP server on a loopback port for the upstream tests: each path answers what the
// test sets (status, body, delay, or never), and the server records requests and connections.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Reply {
  status?: number;
  body?: string;
  /** Delay before answering, ms. */
  delayMs?: number;
  /** Never answer (the client must time out). */
  hang?: boolean;
  /** Extra response headers (e.g. retry-after). */
  headers?: Record<string, string>;
  /** Content type (default Prometheus text). */
  contentType?: string;
}

export interface FakeUpstream {
  readonly url: string;
  readonly port: number;
  /** Requests seen, in order. */
  readonly requests: { path: string; headers: IncomingHttpHeaders }[];
  /** TCP connections accepted so far. */
  connections(): number;
  /** Requests being answered right now. */
  inFlight(): number;
  /** Most requests in flight at once so far. */
  maxInFlight(): number;
  set(path: string, reply: Reply): void;
  close(): Promise<void>;
}

export async function startFakeUpstream(routes: Record<string, Reply> = {}): Promise<FakeUpstream> {
  const table = new Map(Object.entries(routes));
  const requests: { path: string; headers: IncomingHttpHeaders }[] = [];
  let connections = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const server: Server = createServer((req, res) => {
    const path = req.url ?? "/";
    requests.push({ path, headers: req.headers });
    const reply = table.get(path) ?? { status: 404, body: "not found" };
    if (reply.hang) return; // left open until the client gives up or the server closes
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    setTimeout(() => {
      inFlight--;
      res.writeHead(reply.status ?? 200, {
        "content-type": reply.contentType ?? "text/plain; version=0.0.4",
        ...reply.headers,
      });
      res.end(reply.body ?? "");
    }, reply.delayMs ?? 0);
  });
  server.on("connection", () => {
    connections++;
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    connections: () => connections,
    inFlight: () => inFlight,
    maxInFlight: () => maxInFlight,
    set: (path, reply) => {
      table.set(path, reply);
    },
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

/** A loopback port with nothing listening (bound then released). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, "127.0.0.1", ok));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}
