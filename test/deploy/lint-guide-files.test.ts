// The six rules read in the guide's own files: each on fixtures written for it (test/fixtures/lint/
// <rule>/bad must raise it at the line of the mistake, …/good must raise nothing at all), on the
// guide's files, and on a well-known project's manifests (kube-state-metrics), which stay clean.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { imageTools, requiredCommand } from "../../src/catalog/images.js";
import { main } from "../../src/cli/main.js";
import { type Finding, lintPaths, RULES } from "../../src/deploy/lint/index.js";
import { programs, unquotedVersionSpecifiers } from "../../src/deploy/lint/shell.js";
import { ROOT } from "./helpers.js";

const FIXTURES = join(ROOT, "test/fixtures/lint");
const GUIDE = join(ROOT, "test/fixtures/guide");

/** 1-based line of the first line holding `needle`, asserting there is one. */
function lineOf(file: string, needle: string): number {
  const i = readFileSync(file, "utf8")
    .split("\n")
    .findIndex((l) => l.includes(needle));
  assert.ok(i >= 0, `${needle} not in ${file}`);
  return i + 1;
}

function fixture(rule: string, kind: "bad" | "good" | "note"): { dir: string; findings: Finding[] } {
  const dir = join(FIXTURES, rule, kind);
  return { dir, findings: lintPaths([dir]).findings };
}

/** [file name, line, severity] of each finding, for exact comparison. */
function where(dir: string, findings: readonly Finding[]): [string, number, string][] {
  return findings.map((f) => [f.file.slice(dir.length + 1), f.line, f.severity]);
}

const GUIDE_RULES = [
  "selector-template-mismatch",
  "standalone-store-replicated",
  "statefulset-service-missing",
  "image-command-missing",
  "run-unquoted-version-specifier",
  "probe-binary-missing",
] as const;

describe("lint: rules read in the guide's own files, on fixtures written for them", () => {
  it("are registered as guide-file rules, errors by default", () => {
    assert.deepEqual(
      RULES.filter((r) => r.source === "guide-file").map((r) => [r.id, r.severity]),
      GUIDE_RULES.map((id) => [id, "error"]),
    );
  });

  it("every good fixture raises nothing, of any rule", () => {
    for (const rule of GUIDE_RULES) {
      const { findings } = fixture(rule, "good");
      assert.deepEqual(findings, [], rule);
    }
  });

  it("selector-template-mismatch: a differing label value, an unsatisfied matchExpressions term, a CronJob's job template", () => {
    const { dir, findings } = fixture("selector-template-mismatch", "bad");
    const file = join(dir, "workloads.yaml");
    assert.ok(findings.every((f) => f.rule === "selector-template-mismatch"));
    assert.deepEqual(where(dir, findings), [
      ["workloads.yaml", lineOf(file, "tier: inference"), "error"],
      ["workloads.yaml", lineOf(file, "- key: role"), "error"],
      ["workloads.yaml", lineOf(file, "job: reindex"), "error"],
    ]);
    assert.match(
      findings[0]?.message ?? "",
      /requires tier=inference, but its pod template has app=reranker, tier=batch/,
    );
    assert.match(findings[0]?.message ?? "", /add tier: inference under spec\.template\.metadata\.labels/);
    assert.match(findings[1]?.message ?? "", /role In \(primary, replica\)/);
    assert.match(findings[2]?.message ?? "", /spec\.jobTemplate\.spec\.selector requires job=reindex/);
  });

  it("standalone-store-replicated: single-node Elasticsearch × 2, Milvus standalone under an HPA to 4, compose replicas", () => {
    const { dir, findings } = fixture("standalone-store-replicated", "bad");
    assert.ok(findings.every((f) => f.rule === "standalone-store-replicated"));
    assert.deepEqual(where(dir, findings), [
      ["compose.yaml", lineOf(join(dir, "compose.yaml"), "replicas: 2"), "error"],
      ["search.yaml", lineOf(join(dir, "search.yaml"), "replicas: 2"), "error"],
      ["vectors.yaml", lineOf(join(dir, "vectors.yaml"), "maxReplicas: 4"), "error"],
    ]);
    const [compose, search, hpa] = findings;
    assert.match(compose?.message ?? "", /every replica is its own database/);
    assert.match(search?.message ?? "", /discovery\.type=single-node with replicas: 2.*one-node clusters/);
    assert.match(
      hpa?.message ?? "",
      /HorizontalPodAutoscaler vectors scales StatefulSet vectors.*up to 4 replicas/,
    );
  });

  it("statefulset-service-missing: an error when the app's other Service is here, a note when the set may be partial", () => {
    const bad = fixture("statefulset-service-missing", "bad");
    assert.deepEqual(where(bad.dir, bad.findings), [
      ["etcd.yaml", lineOf(join(bad.dir, "etcd.yaml"), "serviceName: etcd-peers"), "error"],
    ]);
    assert.equal(bad.findings[0]?.rule, "statefulset-service-missing");
    // The Service of that name in namespace `other` does not count; the client Service `etcd` shows the set is the app's.
    assert.match(bad.findings[0]?.message ?? "", /Service etcd .* selects the same pods/);
    assert.match(bad.findings[0]?.message ?? "", /they address each other by those names/);
    const note = fixture("statefulset-service-missing", "note");
    assert.deepEqual(where(note.dir, note.findings), [
      ["queue.yaml", lineOf(join(note.dir, "queue.yaml"), "serviceName:"), "note"],
    ]);
    assert.match(note.findings[0]?.message ?? "", /if it is defined elsewhere, fine/);
    const r = lintPaths([note.dir]);
    assert.deepEqual([r.errors, r.warnings, r.notes], [0, 0, 1]);
  });

  it("image-command-missing: MinIO without `server`, Milvus with a role but no `milvus run`", () => {
    const { dir, findings } = fixture("image-command-missing", "bad");
    assert.ok(findings.every((f) => f.rule === "image-command-missing"));
    const compose = join(dir, "compose.yaml");
    assert.deepEqual(where(dir, findings), [
      ["compose.yaml", lineOf(compose, "image: quay.io/minio/minio"), "error"],
      ["compose.yaml", lineOf(compose, "image: milvusdb/milvus"), "error"],
      ["minio.yaml", lineOf(join(dir, "minio.yaml"), "image: minio/minio"), "error"],
    ]);
    assert.match(
      findings[0]?.message ?? "",
      /with no command: .*bare `minio`.*add command: \["minio","server"/,
    );
    assert.match(findings[1]?.message ?? "", /with command \["standalone"\]: its ENTRYPOINT is tini/);
  });

  it("run-unquoted-version-specifier: the exact token and its column, continuation lines and heredoc scripts included", () => {
    const { dir, findings } = fixture("run-unquoted-version-specifier", "bad");
    const file = join(dir, "Dockerfile");
    const lines = readFileSync(file, "utf8").split("\n");
    assert.ok(findings.every((f) => f.rule === "run-unquoted-version-specifier"));
    const tokens = ["uvicorn[standard]<0.31", "pnpm@>=9.0.0", "sentence-transformers>3.0"];
    assert.deepEqual(
      findings.map((f) => [f.line, f.column]),
      tokens.map((t) => {
        const line = lineOf(file, t);
        return [line, (lines[line - 1] ?? "").indexOf(t) + 1];
      }),
    );
    for (const [i, t] of tokens.entries()) assert.ok(findings[i]?.message.startsWith(`${t} is unquoted`), t);
    assert.match(
      findings[0]?.message ?? "",
      /reads < as input from a file named 0\.31.*the RUN fails; quote it: "uvicorn\[standard\]<0\.31"/,
    );
    assert.match(findings[1]?.message ?? "", /bare pnpm \(installed unpinned\).*a file named =9\.0\.0/);
  });

  it("probe-binary-missing: wget on python slim, curl on scratch, sh and curl on distroless, curl on alpine", () => {
    const { dir, findings } = fixture("probe-binary-missing", "bad");
    assert.ok(findings.every((f) => f.rule === "probe-binary-missing"));
    const workloads = join(dir, "workloads.yaml");
    assert.deepEqual(where(dir, findings), [
      ["Dockerfile", lineOf(join(dir, "Dockerfile"), "HEALTHCHECK"), "error"],
      ["Dockerfile.scratch", lineOf(join(dir, "Dockerfile.scratch"), "HEALTHCHECK"), "error"],
      ["compose.yaml", lineOf(join(dir, "compose.yaml"), "test:"), "error"],
      ["workloads.yaml", lineOf(workloads, '["sh", "-c"'), "error"],
      ["workloads.yaml", lineOf(workloads, "/usr/bin/curl"), "error"],
    ]);
    const [docker, scratch, compose, live, ready] = findings;
    // Followed through the stage alias `base` down to python:3.12-slim.
    assert.match(docker?.message ?? "", /HEALTHCHECK runs wget, which python:3\.12-slim .* never installs/);
    const hc =
      readFileSync(join(dir, "Dockerfile"), "utf8")
        .split("\n")
        .find((l) => l.startsWith("HEALTHCHECK")) ?? "";
    assert.equal(docker?.column, hc.indexOf("wget") + 1, "points at the program");
    assert.match(scratch?.message ?? "", /runs curl, which scratch \(scratch \(empty\)\)/);
    assert.match(compose?.message ?? "", /runs curl .*alpine:3\.20/);
    assert.match(live?.message ?? "", /livenessProbe runs sh .*distroless.*restarts the container/);
    assert.match(ready?.message ?? "", /readinessProbe runs curl .*never becomes Ready/);
  });
});

describe("lint: the image facts it reads", () => {
  it("names resolve through docker.io/library and digests; unknown images are unknown", () => {
    assert.equal(
      imageTools("docker.io/library/python:3.12-slim@sha256:abcd")?.family,
      "python slim (Debian)",
    );
    assert.equal(imageTools("python:3.12-bookworm")?.lacks.length, 0, "full python ships curl and wget");
    assert.equal(imageTools("nvidia/cuda:12.4.1-devel-ubuntu22.04"), undefined, "devel is not claimed");
    assert.equal(
      imageTools("gcr.io/distroless/static-debian12:debug"),
      undefined,
      "debug tags carry busybox",
    );
    assert.equal(imageTools("ghcr.io/acme/app:1"), undefined);
    assert.equal(requiredCommand("docker.io/milvusdb/milvus:v2.4.17")?.family, "Milvus");
    assert.equal(requiredCommand("vllm/vllm-openai:v0.11.0"), undefined);
  });
});

describe("lint: reading shell words", () => {
  it("redirects meant as such are not version specifiers; quoted and escaped ones are safe", () => {
    const tokens = (script: string) => unquotedVersionSpecifiers(script).map((u) => u.token);
    assert.deepEqual(tokens("make >/dev/null 2>&1 && cat <<EOF >> log"), []);
    assert.deepEqual(tokens(`pip install "a>=1" 'b<2' c\\>=3 d==4`), []);
    assert.deepEqual(tokens("pip install torch>=2.4,<2.6 x"), ["torch>=2.4,<2.6"]);
    assert.deepEqual(tokens("npm i @scope/pkg@<3 && echo ok"), ["@scope/pkg@<3"]);
    assert.deepEqual(
      programs("timeout 5 curl -f http://x || exit 1; FOO=1 /bin/wget -q y | grep ok").map((p) => p.name),
      ["curl", "/bin/wget", "grep"],
    );
  });
});

describe("lint: the guide's own files trip each of the six", () => {
  const report = lintPaths([GUIDE]);
  const at = (rule: string, file: string) =>
    report.findings.filter((f) => f.rule === rule && f.file === join(GUIDE, file));

  it("1. the device-plugin DaemonSet's selector, with a template that has no labels", () => {
    const [f] = at("selector-template-mismatch", "time-slicing.yaml");
    assert.equal(f?.line, lineOf(join(GUIDE, "time-slicing.yaml"), "name: nvidia-device-plugin-ds"));
    assert.match(f?.message ?? "", /DaemonSet nvidia-device-plugin-daemonset.*has no labels/);
  });

  it("2. Milvus as three replicas of the standalone image", () => {
    const [f] = at("standalone-store-replicated", "milvus.yaml");
    assert.equal(f?.line, lineOf(join(GUIDE, "milvus.yaml"), "replicas: 3"));
    assert.equal(at("standalone-store-replicated", "elasticsearch.yaml").length, 0, "a real 3-node cluster");
  });

  it("3. serviceName without its Service: Elasticsearch's (a note), Milvus' beside milvus-svc (an error)", () => {
    const [es] = at("statefulset-service-missing", "elasticsearch.yaml");
    assert.equal(es?.line, lineOf(join(GUIDE, "elasticsearch.yaml"), "serviceName: elasticsearch-headless"));
    assert.equal(es?.severity, "note");
    assert.match(es?.message ?? "", /address each other by those names/);
    const [milvus] = at("statefulset-service-missing", "milvus.yaml");
    assert.equal(milvus?.severity, "error");
    assert.match(milvus?.message ?? "", /Service milvus-svc/);
  });

  it("4. the compose Milvus (and the StatefulSet's) with no command", () => {
    const [f] = at("image-command-missing", "docker-compose.yaml");
    assert.equal(f?.line, lineOf(join(GUIDE, "docker-compose.yaml"), "image: milvusdb/milvus"));
    assert.match(f?.message ?? "", /milvus-standalone.*add command: \["milvus","run","standalone"\]/);
    assert.equal(at("image-command-missing", "milvus.yaml").length, 1);
  });

  it("5. transformers>=4.45.0 unquoted", () => {
    const [f] = at("run-unquoted-version-specifier", "Dockerfile");
    assert.equal(f?.line, lineOf(join(GUIDE, "Dockerfile"), "transformers>=4.45.0"));
    assert.equal(f?.column, 5);
    assert.match(f?.message ?? "", /a file named =4\.45\.0; quote it: "transformers>=4\.45\.0"/);
  });

  it("6. curl in the HEALTHCHECK of an nvidia/cuda runtime image, and in the compose healthcheck built from it", () => {
    const [f] = at("probe-binary-missing", "Dockerfile");
    assert.equal(f?.line, lineOf(join(GUIDE, "Dockerfile"), "CMD curl -f"));
    assert.match(f?.message ?? "", /nvidia\/cuda:12\.4\.1-runtime-ubuntu22\.04/);
    const [c] = at("probe-binary-missing", "docker-compose.yaml");
    assert.equal(c?.line, lineOf(join(GUIDE, "docker-compose.yaml"), '"http://localhost:8000/health"'));
    // The alpine JRE's busybox wget (Dockerfile.springboot) and the Milvus/Elasticsearch images' curl are fine.
    assert.equal(at("probe-binary-missing", "Dockerfile.springboot").length, 0);
    assert.equal(report.findings.filter((x) => x.rule === "probe-binary-missing").length, 2);
  });
});

describe("lint: no false alarm on a well-known project", () => {
  it("kube-state-metrics v2.20.0's examples give no finding at all", () => {
    const r = lintPaths([join(ROOT, "test/fixtures/kube-state-metrics")]);
    assert.ok(r.files >= 25, `${r.files} files`);
    assert.deepEqual(r.findings, []);
  });
});

describe("inferplane lint: a new rule in text, json and sarif", () => {
  const dir = join(FIXTURES, "run-unquoted-version-specifier", "bad");
  const run = async (...args: string[]) => {
    let out = "";
    const io = {
      out: (t: string) => {
        out += t;
      },
      err: () => undefined,
      isTTY: false,
    };
    const code = await main(["node", "inferplane", "lint", ...args], io);
    return { code, out };
  };

  it("text: file:line:column, severity, [rule id] and the fix", async () => {
    const { code, out } = await run(dir);
    assert.equal(code, 1);
    const line = lineOf(join(dir, "Dockerfile"), "pnpm@>=9.0.0");
    assert.match(
      out,
      new RegExp(
        `Dockerfile:${line}:20: error \\[run-unquoted-version-specifier\\] pnpm@>=9\\.0\\.0 is unquoted.*quote it: "pnpm@>=9\\.0\\.0"`,
      ),
    );
    assert.match(out, /✖ 1 file\(s\) checked: 3 error\(s\), 0 warning\(s\)\n$/);
  });

  it("json and sarif carry the same findings, and a note stays a note", async () => {
    const json = JSON.parse((await run("--format", "json", dir)).out);
    assert.equal(json.errors, 3);
    assert.equal(json.notes, 0);
    assert.deepEqual(
      json.findings.map((f: Finding) => f.rule),
      Array(3).fill("run-unquoted-version-specifier"),
    );
    const sarif = JSON.parse((await run("--format", "sarif", dir)).out);
    const results = sarif.runs[0].results;
    assert.equal(results.length, 3);
    results.forEach(
      (
        r: {
          ruleId: string;
          level: string;
          ruleIndex: number;
          locations: { physicalLocation: { region: { startLine: number; startColumn: number } } }[];
        },
        i: number,
      ) => {
        assert.equal(r.ruleId, "run-unquoted-version-specifier");
        assert.equal(r.level, "error");
        assert.equal(sarif.runs[0].tool.driver.rules[r.ruleIndex].id, r.ruleId);
        assert.equal(r.locations[0]?.physicalLocation.region.startLine, json.findings[i].line);
        assert.equal(r.locations[0]?.physicalLocation.region.startColumn, json.findings[i].column);
      },
    );
    const noteDir = join(FIXTURES, "statefulset-service-missing", "note");
    const noted = await run("--format", "sarif", noteDir);
    assert.equal(noted.code, 0, "a note does not fail the command");
    assert.equal(JSON.parse(noted.out).runs[0].results[0].level, "note");
    assert.match(
      (await run(noteDir)).out,
      /queue\.yaml:\d+:3: note \[statefulset-service-missing\].*\n! 1 file\(s\) checked: 0 error\(s\), 0 warning\(s\), 1 note\(s\)\n$/,
    );
  });
});
