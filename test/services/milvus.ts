// Milvus Lite 3.2 (PyPI `milvus-lite`, a Milvus gRPC server in Python) from a venv under .cache that
// install.sh makes: `milvus-lite server --data-dir DIR --host 127.0.0.1 --port P`.
import { existsSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import {
  freePort,
  HOST,
  INSTALL_SCRIPT,
  makeDataDir,
  REPO_ROOT,
  run,
  type Service,
  spawnService,
} from "./harness.js";

export interface MilvusService extends Service {
  /** host:port, what @zilliz/milvus2-sdk-node takes as address. */
  readonly uri: string;
}

const BIN = join(REPO_ROOT, ".cache", "milvus-venv", "bin", "milvus-lite");

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const s = createConnection({ host: HOST, port }, () => {
      s.end();
      ok(true);
    });
    s.on("error", () => ok(false));
  });
}

export async function startMilvusLite(): Promise<MilvusService> {
  if (!existsSync(BIN)) await run("bash", [INSTALL_SCRIPT, "milvus-lite"], { timeoutMs: 600_000 });
  if (!existsSync(BIN)) throw new Error(`${BIN} missing after install.sh milvus-lite`);
  const [port, dataDir] = await Promise.all([freePort(), makeDataDir("milvus")]);
  const svc = await spawnService({
    name: "milvus-lite",
    cmd: BIN,
    args: ["server", "--data-dir", join(dataDir, "data"), "--host", HOST, "--port", String(port)],
    dataDir,
    ready: () => tcpOpen(port),
    readyTimeoutMs: 60_000,
  });
  return Object.assign(svc, { uri: `${HOST}:${port}` });
}
