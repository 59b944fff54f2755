// `inferplane render` as a command: writes the tree atomically, replaces a previous render
// (removing files it no longer produces), refuses a bad spec without writing anything, and the
// containers and collector config it writes hold together.
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { parse } from "yaml";
import { main } from "../../src/cli/main.js";
import { checkCompose, checkOtelConfig } from "../../src/deploy/checks.js";
import { otelCollectorConfig } from "../../src/deploy/monitoring.js";
import { validateObject } from "../../src/deploy/validate.js";
import { ensureBinary, findBinary, requireService } from "../services/index.js";
import { EXAMPLE, EXAMPLE_TEXT, exampleWith, render, renderExample } from "./helpers.js";

// biome-ignore lint/suspicious/noExplicitAny: tests walk arbitrary manifests
type Plain = Record<string, any>;

const dir = mkdtempSync(join(tmpdir(), "inferplane-render-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function capture() {
  let out = "";
  let err = "";
  return {
    io: {
      out: (t: string) => {
        out += t;
      },
      err: (t: string) => {
        err += t;
      },
      isTTY: false,
    },
    get: () => ({ out, err }),
  };
}

describe("inferplane render (command)", () => {
  it("writes the tree and a --json report; a second render removes what it no longer writes, keeps the user's files", async () => {
    const out = join(dir, "deploy");
    const a = capture();
    assert.equal(
      await main(["node", "inferplane", "render", "-c", EXAMPLE, "-o", out, "--json"], a.io),
      0,
      a.get().err,
    );
    const report = JSON.parse(a.get().out);
    assert.equal(report.validated, true);
    assert.deepEqual(
      report.environments.map((e: { name: string }) => e.name),
      ["dev", "production", "staging"],
    );
    assert.equal(
      readFileSync(join(out, "base/kustomization.yaml"), "utf8"),
      renderExample().files.find((f) => f.path === "base/kustomization.yaml")?.content,
    );
    mkdirSync(join(out, "mine"));
    writeFileSync(join(out, "mine/notes.txt"), "keep me");
    // Without environments: the overlays go, the user's file stays.
    const spec = join(dir, "no-envs.yaml");
    writeFileSync(spec, EXAMPLE_TEXT.replace(/\nenvironments:[\s\S]*?\ngitops:/, "\ngitops:"));
    const b = capture();
    assert.equal(await main(["node", "inferplane", "render", spec, "-o", out], b.io), 0, b.get().err);
    assert.match(b.get().out, /rendered \d+ files/);
    assert.ok(!existsSync(join(out, "overlays/dev")), "stale overlay removed");
    assert.deepEqual(readdirSync(join(out, "overlays")), ["spot"]);
    assert.equal(readFileSync(join(out, "mine/notes.txt"), "utf8"), "keep me");
    assert.equal(readdirSync(out, { recursive: true }).filter((f) => String(f).includes(".tmp-")).length, 0);
  });

  it("--verify runs kustomize on every kustomization and promtool on every environment's alerts", async (t) => {
    const tools = await requireService(t, "kustomize and promtool", async () => {
      const promtool = await ensureBinary("promtool", "prometheus");
      const kustomize =
        findBinary("kubectl") ?? findBinary("kustomize") ?? (await ensureBinary("kustomize", "kustomize"));
      return { dirs: [dirname(promtool), dirname(kustomize)] };
    });
    if (!tools) return;
    const path = process.env.PATH;
    process.env.PATH = [...tools.dirs, path].join(delimiter);
    t.after(() => {
      process.env.PATH = path;
    });
    const c = capture();
    const code = await main(
      ["node", "inferplane", "render", "-c", EXAMPLE, "-o", join(dir, "verified"), "--verify", "--json"],
      c.io,
    );
    const report = JSON.parse(c.get().out);
    assert.equal(code, 0, JSON.stringify(report.verify));
    assert.deepEqual(report.verify.skipped, []);
    const what = report.verify.checks.map((x: { what: string }) => x.what);
    assert.ok(what.includes("kustomize build overlays/production"));
    assert.ok(what.includes("promtool test rules (production, 17 alerts)"));
    assert.ok(report.verify.checks.every((x: { ok: boolean }) => x.ok));
  });

  it("a bad spec exits 2 naming the field and line, and writes nothing", async () => {
    const spec = join(dir, "bad.yaml");
    writeFileSync(spec, EXAMPLE_TEXT.replace("maxModelLen: 8192", "maxModelLen: -1"));
    const out = join(dir, "never");
    const c = capture();
    assert.equal(await main(["node", "inferplane", "render", spec, "-o", out], c.io), 2);
    assert.match(c.get().err, /models\[0\]\.maxModelLen/);
    assert.ok(!existsSync(out));
  });

  it("-o is required (usage error, exit 2)", async () => {
    const c = capture();
    assert.equal(await main(["node", "inferplane", "render", "-c", EXAMPLE], c.io), 2);
  });
});

describe("containers and collector", () => {
  const r = renderExample();
  const file = (p: string) => r.files.find((f) => f.path === p)?.content ?? "";

  it("the Dockerfile is multi-stage, runs as non-root with a HEALTHCHECK, and .dockerignore keeps the context small", () => {
    const d = file("docker/Dockerfile");
    assert.equal(d.match(/^FROM /gm)?.length, 2);
    assert.match(d, /^USER node$/m);
    assert.match(d, /^HEALTHCHECK .*\n.*\/healthz/m);
    assert.match(d, /npm prune --omit=dev/);
    for (const x of ["node_modules", ".git", "test"])
      assert.match(file("docker/Dockerfile.dockerignore"), new RegExp(`^${x.replace(".", "\\.")}$`, "m"));
  });

  it("docker-compose: every dependency and volume resolves; vLLM only under the gpu profile, simulators under cpu", () => {
    const compose = parse(file("docker/docker-compose.yaml"));
    assert.deepEqual(checkCompose(compose), []);
    for (const s of ["gateway", "redis", "milvus", "elasticsearch", "prometheus", "grafana"])
      assert.ok(compose.services[s], s);
    assert.deepEqual(compose.services["vllm-qwen-7b"].profiles, ["gpu"]);
    assert.deepEqual(compose.services["sim-qwen-7b"].profiles, ["cpu"]);
    assert.deepEqual(
      compose.services["vllm-qwen-7b"].networks.default.aliases,
      compose.services["sim-qwen-7b"].networks.default.aliases,
    );
    // The check is not vacuous.
    delete compose.services.redis;
    assert.deepEqual(checkCompose(compose), ["gateway: depends_on redis, which is not a service"]);
    const spec = parse(file("docker/inferplane.yaml"));
    assert.deepEqual(spec.models[0].endpoints, ["http://engine-qwen-7b:8000"]);
  });

  it("the collector config: every pipeline component defined, memory_limiter first; the check catches a dangling exporter", () => {
    const cfg = otelCollectorConfig();
    assert.deepEqual(checkOtelConfig(cfg), []);
    const rendered = r.objects.find(
      (o) => o.object.kind === "ConfigMap" && o.object.metadata.name === "otel-collector-config",
    )?.object as unknown as { data: Record<string, string> };
    assert.deepEqual(parse(rendered.data["config.yaml"] ?? ""), cfg);
    const broken = structuredClone(cfg) as {
      service: { pipelines: { logs: { exporters: string[]; processors: string[] } } };
    };
    broken.service.pipelines.logs.exporters = ["loki"];
    broken.service.pipelines.logs.processors = ["batch", "memory_limiter"];
    assert.deepEqual(checkOtelConfig(broken), [
      "pipeline logs: exporter loki is not defined",
      "pipeline logs: memory_limiter must come first",
    ]);
  });
});

describe("other engines", () => {
  it("TGI and Ollama models render valid Deployments with their own args, ports and probes", () => {
    const text = exampleWith(
      "  - name: bge-m3\n",
      `  - name: tgi-qwen
    source: hf://Qwen/Qwen2.5-7B-Instruct-AWQ
    engine: tgi
    quantization: awq
    maxModelLen: 8192
    gpu:
      pool: a100
      count: 1
  - name: ollama-qwen
    source: ollama://qwen2.5:7b
    engine: ollama
  - name: bge-m3
`,
    );
    const r = render(text);
    const dep = (name: string) =>
      r.base.objects.find((o) => o.object.kind === "Deployment" && o.object.metadata.name === name)
        ?.object as Plain;
    const tgi = dep("tgi-qwen").spec.template.spec.containers[0];
    assert.deepEqual(tgi.args.slice(0, 6), [
      "--model-id",
      "Qwen/Qwen2.5-7B-Instruct-AWQ",
      "--port",
      "80",
      "--num-shard",
      "1",
    ]);
    assert.ok(tgi.args.includes("--quantize"));
    assert.equal(tgi.ports[0].containerPort, 80);
    const ollama = dep("ollama-qwen").spec.template.spec;
    assert.equal(ollama.containers[0].readinessProbe.httpGet.path, "/api/version");
    assert.match(ollama.initContainers[0].command[2], /ollama pull qwen2\.5:7b/);
    assert.equal(
      r.base.objects.filter((o) => o.object.kind === "PodMonitor" && o.object.metadata.name === "ollama-qwen")
        .length,
      0,
      "Ollama has no /metrics",
    );
    for (const o of r.objects)
      assert.deepEqual(validateObject(o.object), [], `${o.object.kind}/${o.object.metadata.name}`);
  });
});
