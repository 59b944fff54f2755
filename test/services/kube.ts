// A real Kubernetes control plane on loopback: etcd, kube-apiserver (RBAC on, client certificates
// made with openssl), kube-scheduler, kube-controller-manager and kwok (fake nodes and pods), all
// built by install.sh (`kube`). The CRDs the rendered trees use (KEDA, prometheus-operator, Argo CD,
// helm-controller's HelmChart, cert-manager, the Vertical Pod Autoscaler) are applied from the copies install.sh took out of their upstream
// Go modules. Nodes are kwok nodes: whatever capacity (nvidia.com/gpu, nvidia.com/mig-…) a test gives them.
import { existsSync, readdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  ensureBinary,
  freePort,
  HOST,
  makeDataDir,
  REPO_ROOT,
  type RunResult,
  run,
  type Service,
  spawnService,
  waitFor,
} from "./harness.js";

export const CRD_DIR = join(REPO_ROOT, ".cache", "kube-crds");
/** kwok's stages (fast node and pod lifecycle, lease heartbeat), copied from its module by install.sh. */
export const KWOK_STAGES = join(REPO_ROOT, ".cache", "kube-kwok", "stages-v0.8.0.yaml");

/** A fake node: name, labels, taints and the capacity it advertises (allocatable = capacity). */
export interface FakeNode {
  name: string;
  labels?: Record<string, string>;
  taints?: { key: string; value?: string; effect: "NoSchedule" | "NoExecute" | "PreferNoSchedule" }[];
  /** Extended resources and overrides of the defaults (cpu 64, memory 512Gi, pods 110). */
  capacity?: Record<string, string>;
}

export interface KubeService extends Service {
  /** https://127.0.0.1:PORT */
  readonly server: string;
  /** Admin kubeconfig (system:masters client certificate). */
  readonly kubeconfig: string;
  /** kubectl against this cluster; never throws on a non-zero exit. */
  kubectl(args: readonly string[], opts?: { stdin?: string; timeoutMs?: number }): Promise<RunResult>;
  /** kubectl that must succeed; returns stdout. */
  kubectlOk(args: readonly string[], opts?: { stdin?: string; timeoutMs?: number }): Promise<string>;
  /** Create kwok nodes and wait until every one is Ready. */
  addNodes(nodes: readonly FakeNode[]): Promise<void>;
}

export interface KubeOptions {
  /** Apply the CRDs from .cache/kube-crds (default true). */
  crds?: boolean;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  const r = await run("openssl", args, { cwd: dir, timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`openssl ${args.join(" ")} failed: ${r.stderr}`);
}

/** A CA, the apiserver's serving certificate, client certificates, and the service-account key pair. */
async function makeCertificates(dir: string): Promise<void> {
  await openssl(dir, ["genrsa", "-out", "ca.key", "2048"]);
  await openssl(dir, [
    "req",
    "-x509",
    "-new",
    "-key",
    "ca.key",
    "-subj",
    "/CN=inferplane-test-ca",
    "-days",
    "2",
    "-out",
    "ca.crt",
  ]);
  await writeFile(
    join(dir, "server.ext"),
    "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.96.0.1\nextendedKeyUsage=serverAuth\n",
  );
  await writeFile(join(dir, "client.ext"), "extendedKeyUsage=clientAuth\n");
  const sign = async (name: string, subj: string, ext: string) => {
    await openssl(dir, ["genrsa", "-out", `${name}.key`, "2048"]);
    await openssl(dir, ["req", "-new", "-key", `${name}.key`, "-subj", subj, "-out", `${name}.csr`]);
    await openssl(dir, [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      ext,
      "-out",
      `${name}.crt`,
    ]);
  };
  await sign("apiserver", "/CN=kube-apiserver", "server.ext");
  await sign("admin", "/O=system:masters/CN=inferplane-test-admin", "client.ext");
  await sign("scheduler", "/CN=system:kube-scheduler", "client.ext");
  await sign("controller-manager", "/CN=system:kube-controller-manager", "client.ext");
  await openssl(dir, ["genrsa", "-out", "sa.key", "2048"]);
  await openssl(dir, ["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"]);
}

function kubeconfigYaml(server: string, dir: string, user: string): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "  - name: test",
    "    cluster:",
    `      server: ${server}`,
    `      certificate-authority: ${join(dir, "ca.crt")}`,
    "users:",
    `  - name: ${user}`,
    "    user:",
    `      client-certificate: ${join(dir, `${user}.crt`)}`,
    `      client-key: ${join(dir, `${user}.key`)}`,
    "contexts:",
    "  - name: test",
    "    context:",
    "      cluster: test",
    `      user: ${user}`,
    "current-context: test",
    "",
  ].join("\n");
}

/** Nodes as kwok expects them: the `kwok.x-k8s.io/node: fake` annotation, status with capacity. */
export function nodeManifest(n: FakeNode): Record<string, unknown> {
  const capacity = {
    cpu: "64",
    memory: "512Gi",
    pods: "110",
    "ephemeral-storage": "1Ti",
    ...(n.capacity ?? {}),
  };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: n.name,
      annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
      labels: {
        "kubernetes.io/hostname": n.name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        type: "kwok",
        ...(n.labels ?? {}),
      },
    },
    spec: n.taints && n.taints.length > 0 ? { taints: n.taints } : {},
    status: {
      capacity,
      allocatable: capacity,
      nodeInfo: {
        architecture: "amd64",
        operatingSystem: "linux",
        kubeletVersion: "fake",
        kernelVersion: "fake",
      },
      phase: "Running",
    },
  };
}

export async function startKube(opts: KubeOptions = {}): Promise<KubeService> {
  const [etcdBin, apiserverBin, schedulerBin, cmBin, kwokBin] = [
    await ensureBinary("etcd", "kube"),
    await ensureBinary("kube-apiserver", "kube"),
    await ensureBinary("kube-scheduler", "kube"),
    await ensureBinary("kube-controller-manager", "kube"),
    await ensureBinary("kwok", "kube"),
  ];
  const kubectlBin = await ensureBinary("kubectl", "kustomize");
  for (const need of [...((opts.crds ?? true) ? [CRD_DIR] : []), KWOK_STAGES])
    if (!existsSync(need)) throw new Error(`${need} is missing (run: bash test/services/install.sh kube)`);
  const dir = await makeDataDir("kube");
  await makeCertificates(dir);
  const services: Service[] = [];
  const stopAll = async () => {
    for (const s of [...services].reverse()) await s.stop();
  };
  try {
    // ---- etcd
    const [etcdPort, peerPort] = [await freePort(), await freePort()];
    const etcdDir = await makeDataDir("kube-etcd");
    const etcdUrl = `http://${HOST}:${etcdPort}`;
    services.push(
      await spawnService({
        name: "etcd",
        cmd: etcdBin,
        args: [
          "--data-dir",
          join(etcdDir, "data"),
          "--listen-client-urls",
          etcdUrl,
          "--advertise-client-urls",
          etcdUrl,
          "--listen-peer-urls",
          `http://${HOST}:${peerPort}`,
          "--initial-advertise-peer-urls",
          `http://${HOST}:${peerPort}`,
          "--initial-cluster",
          `default=http://${HOST}:${peerPort}`,
          "--unsafe-no-fsync", // a throwaway store: durability buys nothing and costs the shared disk
          "--log-level",
          "warn",
        ],
        dataDir: etcdDir,
        ready: async () => (await fetch(`${etcdUrl}/health`)).ok,
      }),
    );

    // ---- kube-apiserver
    const apiPort = await freePort();
    const server = `https://${HOST}:${apiPort}`;
    const kubeconfig = join(dir, "admin.kubeconfig");
    await writeFile(kubeconfig, kubeconfigYaml(server, dir, "admin"));
    await writeFile(join(dir, "scheduler.kubeconfig"), kubeconfigYaml(server, dir, "scheduler"));
    await writeFile(join(dir, "controller-manager.kubeconfig"), kubeconfigYaml(server, dir, "admin"));
    const kubectl = (args: readonly string[], o: { stdin?: string; timeoutMs?: number } = {}) =>
      run(kubectlBin, ["--kubeconfig", kubeconfig, ...args], {
        stdin: o.stdin,
        timeoutMs: o.timeoutMs ?? 60_000,
      });
    const apiDir = await makeDataDir("kube-apiserver");
    services.push(
      await spawnService({
        name: "kube-apiserver",
        cmd: apiserverBin,
        args: [
          `--etcd-servers=${etcdUrl}`,
          `--secure-port=${apiPort}`,
          `--bind-address=${HOST}`,
          `--advertise-address=${HOST}`,
          `--tls-cert-file=${join(dir, "apiserver.crt")}`,
          `--tls-private-key-file=${join(dir, "apiserver.key")}`,
          `--client-ca-file=${join(dir, "ca.crt")}`,
          `--service-account-issuer=https://kubernetes.default.svc`,
          `--service-account-key-file=${join(dir, "sa.pub")}`,
          `--service-account-signing-key-file=${join(dir, "sa.key")}`,
          "--authorization-mode=Node,RBAC",
          "--service-cluster-ip-range=10.96.0.0/16",
          // a loopback advertise address is not a valid Endpoints IP: nothing to reconcile here
          "--endpoint-reconciler-type=none",
          // as kubeadm and the managed offerings do: Elasticsearch's sysctl init container needs it
          "--allow-privileged=true",
          `--cert-dir=${join(apiDir, "certs")}`,
          "--v=1",
        ],
        dataDir: apiDir,
        readyTimeoutMs: 60_000,
        ready: async () =>
          (await kubectl(["get", "--raw", "/readyz"], { timeoutMs: 5_000 })).stdout.trim() === "ok",
      }),
    );

    // ---- scheduler, controller-manager
    const schedDir = await makeDataDir("kube-scheduler");
    const schedPort = await freePort();
    const schedKc = join(dir, "scheduler.kubeconfig");
    services.push(
      await spawnService({
        name: "kube-scheduler",
        cmd: schedulerBin,
        args: [
          `--kubeconfig=${schedKc}`,
          `--authentication-kubeconfig=${schedKc}`,
          `--authorization-kubeconfig=${schedKc}`,
          `--secure-port=${schedPort}`,
          `--bind-address=${HOST}`,
          "--leader-elect=false",
        ],
        dataDir: schedDir,
        ready: async () =>
          (await run("curl", ["-sk", `https://${HOST}:${schedPort}/healthz`])).stdout === "ok",
      }),
    );
    const cmDir = await makeDataDir("kube-controller-manager");
    const cmPort = await freePort();
    const cmKc = join(dir, "controller-manager.kubeconfig");
    services.push(
      await spawnService({
        name: "kube-controller-manager",
        cmd: cmBin,
        args: [
          `--kubeconfig=${cmKc}`,
          `--authentication-kubeconfig=${cmKc}`,
          `--authorization-kubeconfig=${cmKc}`,
          `--secure-port=${cmPort}`,
          `--bind-address=${HOST}`,
          "--leader-elect=false",
          `--service-account-private-key-file=${join(dir, "sa.key")}`,
          `--root-ca-file=${join(dir, "ca.crt")}`,
          "--use-service-account-credentials=false",
          // nodelifecycle stays: it lifts the not-ready taint the API server puts on new nodes
          "--controllers=*,-nodeipam,-cloud-node-lifecycle,-route,-service",
        ],
        dataDir: cmDir,
        ready: async () => (await run("curl", ["-sk", `https://${HOST}:${cmPort}/healthz`])).stdout === "ok",
      }),
    );

    // ---- kwok: fake kubelets for every node annotated kwok.x-k8s.io/node=fake
    const kwokDir = await makeDataDir("kwok");
    const kwokPort = await freePort();
    services.push(
      await spawnService({
        name: "kwok",
        cmd: kwokBin,
        args: [
          `--kubeconfig=${kubeconfig}`,
          "--manage-all-nodes=false",
          "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
          `--config=${KWOK_STAGES}`,
          "--cidr=10.0.0.1/24",
          "--node-ip=10.0.0.1",
          `--server-address=${HOST}:${kwokPort}`,
          // without it nodes flap NotReady (REFERENCE: "Real components verified")
          "--node-lease-duration-seconds=40",
        ],
        dataDir: kwokDir,
        ready: async () => (await fetch(`http://${HOST}:${kwokPort}/healthz`)).ok,
      }),
    );

    const kubectlOk = async (args: readonly string[], o: { stdin?: string; timeoutMs?: number } = {}) => {
      const r = await kubectl(args, o);
      if (r.code !== 0)
        throw new Error(`kubectl ${args.join(" ")} failed (${r.code}): ${r.stderr}${r.stdout}`);
      return r.stdout;
    };

    if (opts.crds ?? true) {
      const files = readdirSync(CRD_DIR, { recursive: true })
        .map(String)
        .filter((f) => f.endsWith(".yaml") && !f.endsWith("kustomization.yaml"))
        .sort();
      // server-side: Argo CD's CRDs are too big for client-side apply's last-applied annotation
      const args = ["apply", "--server-side", "--field-manager=inferplane-test"];
      for (const f of files) args.push("-f", join(CRD_DIR, f));
      await kubectlOk(args, { timeoutMs: 120_000 });
      await kubectlOk(["wait", "--for=condition=Established", "crd", "--all", "--timeout=60s"], {
        timeoutMs: 90_000,
      });
    }
    // The default ServiceAccount must exist before pods can be created in a namespace.
    await waitFor(
      async () =>
        (await kubectl(["get", "serviceaccount", "default", "-n", "default"])).code === 0 ? true : undefined,
      {
        timeoutMs: 30_000,
        what: "the default ServiceAccount",
      },
    );

    const addNodes = async (nodes: readonly FakeNode[]) => {
      const doc = nodes.map((n) => JSON.stringify(nodeManifest(n))).join("\n");
      await kubectlOk(["apply", "-f", "-"], { stdin: doc });
      await kubectlOk(
        ["wait", "--for=condition=Ready", ...nodes.map((n) => `node/${n.name}`), "--timeout=60s"],
        { timeoutMs: 90_000 },
      );
    };

    let stopped: Promise<void> | undefined;
    return {
      name: "kube",
      pid: services[1]?.pid ?? -1,
      dataDir: dir,
      server,
      kubeconfig,
      kubectl,
      kubectlOk,
      addNodes,
      logs: () =>
        services.map((s) => `--- ${s.name}\n${s.logs().split("\n").slice(-15).join("\n")}`).join("\n"),
      stop: () => {
        stopped ??= (async () => {
          await stopAll();
          await run("rm", ["-rf", dir]);
        })();
        return stopped;
      },
    };
  } catch (err) {
    await stopAll();
    await run("rm", ["-rf", dir]);
    throw err;
  }
}
