// Redis (Debian `redis-server`): a throwaway instance, no persistence, loopback only, own dir.
import {
  ensureBinary,
  freePort,
  HOST,
  makeDataDir,
  type Service,
  spawnService,
  tcpRequest,
} from "./harness.js";

export interface RedisService extends Service {
  readonly host: string;
  readonly port: number;
  /** redis://127.0.0.1:PORT — what ioredis and most clients take. */
  readonly url: string;
}

export interface RedisOptions {
  /** Extra `--flag value` pairs for redis-server (e.g. ["--maxmemory", "64mb"]). */
  args?: readonly string[];
  readyTimeoutMs?: number;
}

export async function startRedis(opts: RedisOptions = {}): Promise<RedisService> {
  const bin = await ensureBinary("redis-server", "redis");
  const [port, dataDir] = await Promise.all([freePort(), makeDataDir("redis")]);
  const flags: Record<string, string> = {
    port: String(port),
    bind: HOST,
    dir: dataDir,
    save: "", // no RDB snapshots
    appendonly: "no",
    daemonize: "no", // we own the process; a daemonized redis would escape cleanup
    logfile: "", // log to stdout, captured by the harness
  };
  const args = [...Object.entries(flags).flatMap(([k, v]) => [`--${k}`, v]), ...(opts.args ?? [])];
  const svc = await spawnService({
    name: "redis",
    cmd: bin,
    args,
    dataDir,
    ready: async () => (await tcpRequest(port, "PING\r\n")).startsWith("+PONG"),
    readyTimeoutMs: opts.readyTimeoutMs,
  });
  return Object.assign(svc, { host: HOST, port, url: `redis://${HOST}:${port}` });
}
