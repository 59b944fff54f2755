// Elasticsearch 8.19 from Maven Central's `org.elasticsearch.distribution.integ-test-zip` (no bundled
// JDK, no analysis-common module), unpacked by install.sh (/opt/inferplane as root), run on the system
// Java 17 (ES_JAVA_HOME). It refuses to run as root: as root the harness runs it as the unprivileged
// user install.sh creates (`inferplane-es`), with `runuser`.

import { execFileSync } from "node:child_process";
import { chmodSync, existsSync } from "node:fs";
import { join } from "node:path";
import {
  freePort,
  HOST,
  httpOk,
  INSTALL_SCRIPT,
  makeDataDir,
  REPO_ROOT,
  run,
  type Service,
  spawnService,
} from "./harness.js";

export interface ElasticsearchService extends Service {
  readonly url: string;
}

export const ES_VERSION = "8.19.21";
// Where install.sh puts it: /opt as root (the unprivileged user must reach it), else the cache.
const HOME = join(
  process.getuid?.() === 0 ? "/opt/inferplane/elasticsearch" : join(REPO_ROOT, ".cache", "elasticsearch"),
  `elasticsearch-${ES_VERSION}`,
);
const USER = "inferplane-es";

function javaHome(): string {
  const java = execFileSync("readlink", [
    "-f",
    execFileSync("sh", ["-c", "command -v java"]).toString().trim(),
  ])
    .toString()
    .trim();
  return java.replace(/\/bin\/java$/, "");
}

export async function startElasticsearch(): Promise<ElasticsearchService> {
  if (!existsSync(join(HOME, "bin", "elasticsearch")))
    await run("bash", [INSTALL_SCRIPT, "elasticsearch"], { timeoutMs: 600_000 });
  if (!existsSync(join(HOME, "bin", "elasticsearch")))
    throw new Error(`${HOME} missing after install.sh elasticsearch`);
  const [port, dataDir] = await Promise.all([freePort(), makeDataDir("elasticsearch")]);
  chmodSync(dataDir, 0o777); // the unprivileged user writes data and logs here
  const args = [
    "-E",
    "discovery.type=single-node",
    "-E",
    "xpack.security.enabled=false",
    "-E",
    `http.host=${HOST}`,
    "-E",
    `http.port=${port}`,
    "-E",
    "transport.port=0",
    "-E",
    `path.data=${join(dataDir, "data")}`,
    "-E",
    `path.logs=${join(dataDir, "logs")}`,
  ];
  const env = { ...process.env, ES_JAVA_HOME: javaHome(), ES_JAVA_OPTS: "-Xms512m -Xmx512m" };
  const root = process.getuid?.() === 0;
  const svc = await spawnService({
    name: "elasticsearch",
    cmd: root ? "runuser" : join(HOME, "bin", "elasticsearch"),
    args: root
      ? [
          "-u",
          USER,
          "--",
          "env",
          `ES_JAVA_HOME=${env.ES_JAVA_HOME}`,
          `ES_JAVA_OPTS=${env.ES_JAVA_OPTS}`,
          join(HOME, "bin", "elasticsearch"),
          ...args,
        ]
      : args,
    dataDir,
    env,
    ready: () => httpOk(`http://${HOST}:${port}/_cluster/health?wait_for_status=yellow&timeout=1s`),
    readyTimeoutMs: 60_000,
  });
  return Object.assign(svc, { url: `http://${HOST}:${port}` });
}
