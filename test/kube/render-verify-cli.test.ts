// `inferplane render --verify --kubeconfig FILE` (the CLI layer) against a real control plane:
// the text and --json reports name each rejected object with the API server's own words.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { renderCommand } from "../../src/cli/render.js";
import { requireService } from "../services/harness.js";
import { startKube } from "../services/kube.js";

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
    text: () => ({ out, err }),
  };
}

it("render --verify --kubeconfig: a clean dry-run of the example, then a rejection reported with its object and the API server's words", async (t) => {
  const kube = await requireService(t, "kube", () => startKube());
  if (!kube) return;
  const out = mkdtempSync(join(tmpdir(), "inferplane-verify-cli-"));
  t.after(() => rmSync(out, { recursive: true, force: true }));

  const ok = capture();
  const code = renderCommand(
    "examples/inferplane.yaml",
    { out, verify: true, kubeconfig: kube.kubeconfig },
    ok.io,
  );
  assert.match(ok.text().out, /cluster https:\/\/127\.0\.0\.1:\d+ \(server-side dry-run\)/);
  assert.match(ok.text().out, /✔ overlays\/production: \d+ objects/);
  assert.doesNotMatch(ok.text().out, /✖ (base|overlays|cluster|services|argocd)/);
  // The placement check: no GPU node in this cluster, so no engine fits; that fails the run.
  assert.match(ok.text().out, /✖ placement vllm-qwen-7b \(production\): .*no node matches/);
  assert.equal(code, 1);

  // A quota the API server enforces: the dry-run is refused in the API server's words.
  // (once the namespace the first dry-run created and deleted is gone)
  await kube.kubectlOk(["wait", "--for=delete", "namespace/ai-inference-production", "--timeout=90s"], {
    timeoutMs: 120_000,
  });
  await kube.kubectlOk(["create", "namespace", "ai-inference-production"]);
  await kube.kubectlOk([
    "create",
    "quota",
    "no-pvc",
    "-n",
    "ai-inference-production",
    "--hard=persistentvolumeclaims=0",
  ]);
  const refused = capture();
  renderCommand(
    "examples/inferplane.yaml",
    { out, verify: true, kubeconfig: kube.kubeconfig, json: true },
    refused.io,
  );
  const report = JSON.parse(refused.text().out) as {
    cluster: { ok: boolean; trees: { tree: string; errors: { object: string; message: string }[] }[] };
  };
  assert.equal(report.cluster.ok, false);
  const prod = report.cluster.trees.find((x) => x.tree === "overlays/production");
  const e = prod?.errors.find((x) => /persistentvolumeclaims/.test(x.message));
  assert.ok(e, JSON.stringify(prod));
  assert.match(e.message, /exceeded quota: no-pvc/);
});
