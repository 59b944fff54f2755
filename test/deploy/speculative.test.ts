// Speculative decoding: the engine arguments each engine takes (vLLM's --speculative-config
// JSON, TGI's --speculate), refusals for engines and combinations that cannot work, and the
// plan counting the draft model's weights and KV in the replica's memory.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { main } from "../../src/cli/main.js";
import type { K8sObject } from "../../src/deploy/types.js";
import { isInferplaneError } from "../../src/errors.js";
import { planSpec } from "../../src/planner/index.js";
import { parseSpec } from "../../src/spec/load.js";
import { exampleWith, render } from "./helpers.js";

// biome-ignore lint/suspicious/noExplicitAny: tests walk arbitrary manifests
type Plain = Record<string, any>;

const QWEN = "    enablePrefixCaching: true\n";
const withSpec = (block: string) => exampleWith(QWEN, `${QWEN}${block}`);

function engineArgs(objs: { object: K8sObject }[], name: string): string[] {
  const d = objs.find((o) => o.object.kind === "Deployment" && o.object.metadata.name === name)
    ?.object as Plain;
  assert.ok(d, name);
  const c = d.spec.template.spec.containers.find((x: Plain) => x.name === "engine");
  return [...(c.command ?? []), ...(c.args ?? [])];
}

function problems(text: string): string {
  try {
    render(text);
  } catch (e) {
    if (isInferplaneError(e)) return e.problems.map((p) => `${p.path}: ${p.message}`).join("\n");
    throw e;
  }
  return "";
}

const SEVENTY = `apiVersion: inferplane.dev/v1
kind: Platform
metadata:
  name: spec-decode
gpus:
  - name: h100
    type: H100-80GB
    count: 8
    gpusPerNode: 8
models:
  - name: llama-70b
    source: hf://meta-llama/Llama-3.1-70B-Instruct
    engine: vllm
    engineVersion: "0.11.0"
    maxModelLen: 8192
    gpu:
      pool: h100
      count: 4
    replicas: 1
__SPEC__`;

describe("speculative decoding", () => {
  it("vLLM: a draft model becomes --speculative-config with its repo and token count", () => {
    const r = render(
      withSpec("    speculative:\n      draftModel: hf://Qwen/Qwen2.5-7B-Instruct\n      numTokens: 4\n"),
    );
    const args = engineArgs(r.base.objects, "vllm-qwen-7b");
    const i = args.indexOf("--speculative-config");
    assert.ok(i >= 0, args.join(" "));
    assert.deepEqual(JSON.parse(args[i + 1] ?? ""), {
      model: "Qwen/Qwen2.5-7B-Instruct",
      num_speculative_tokens: 4,
    });
    // Other models untouched.
    assert.ok(!engineArgs(r.base.objects, "vllm-bge-m3").includes("--speculative-config"));
  });

  it("vLLM: n-gram needs no model; a catalog id resolves to the catalog's repo", () => {
    const ngram = engineArgs(
      render(withSpec("    speculative:\n      method: ngram\n")).base.objects,
      "vllm-qwen-7b",
    );
    const j = JSON.parse(ngram[ngram.indexOf("--speculative-config") + 1] ?? "");
    assert.deepEqual(j, { method: "ngram", num_speculative_tokens: 5, prompt_lookup_max: 4 });
    const byId = engineArgs(
      render(withSpec("    speculative:\n      draftModel: qwen2.5-7b\n")).base.objects,
      "vllm-qwen-7b",
    );
    const k = JSON.parse(byId[byId.indexOf("--speculative-config") + 1] ?? "");
    assert.equal(k.model, "Qwen/Qwen2.5-7B-Instruct");
  });

  it("refuses clearly: engines that cannot, methods without their heads, drafts with n-gram, old vLLM", () => {
    assert.match(
      problems(withSpec("    speculative:\n      numTokens: 3\n")),
      /models\[0\]\.speculative: set `draftModel`/,
    );
    assert.match(
      problems(withSpec("    speculative:\n      method: eagle\n")),
      /models\[0\]\.speculative\.draftModel: method eagle needs its heads/,
    );
    assert.match(
      problems(withSpec("    speculative:\n      method: ngram\n      draftModel: qwen2.5-7b\n")),
      /method ngram takes no draft model/,
    );
    assert.match(
      problems(withSpec("    speculative:\n      draftModel: hf://someone/tiny-draft\n")),
      /not in the catalog, so the plan cannot count its memory/,
    );
    assert.match(
      problems(
        exampleWith(
          '    engineVersion: "0.11.0"\n    quantization: awq\n',
          '    engineVersion: "0.7.3"\n    quantization: awq\n    speculative:\n      method: ngram\n',
        ),
      ),
      /models\[0\]\.engineVersion: .*vLLM 0\.7\.3 does not read/,
    );
    const ollama = exampleWith(
      "  - name: bge-reranker\n",
      "  - name: local\n    source: ollama://qwen2.5:7b\n    engine: ollama\n    endpoints: [http://127.0.0.1:11434]\n    speculative:\n      method: ngram\n  - name: bge-reranker\n",
    );
    assert.match(problems(ollama), /models\[2\]\.speculative: engine ollama cannot do speculative decoding/);
  });

  it("TGI: ngram becomes --speculate N; a draft model is refused", () => {
    const tgi = (block: string) =>
      exampleWith(
        "  - name: bge-reranker\n",
        `  - name: tgi-chat\n    source: hf://Qwen/Qwen2.5-7B-Instruct\n    engine: tgi\n    gpu:\n      pool: a100\n      count: 1\n    replicas: 1\n${block}  - name: bge-reranker\n`,
      );
    const ok = render(tgi("    speculative:\n      method: ngram\n      numTokens: 3\n"));
    const args = engineArgs(ok.base.objects, "tgi-chat");
    assert.deepEqual(args.slice(args.indexOf("--speculate"), args.indexOf("--speculate") + 2), [
      "--speculate",
      "3",
    ]);
    assert.match(
      problems(tgi("    speculative:\n      draftModel: qwen2.5-7b\n")),
      /TGI speculates only with `method: ngram`/,
    );
  });

  it("the plan counts the draft's weights and KV: a smaller KV pool, fewer tokens, shown in the report", async () => {
    const plain = planSpec(parseSpec(SEVENTY.replace("__SPEC__", "")).platform);
    const spec = planSpec(
      parseSpec(SEVENTY.replace("__SPEC__", "    speculative:\n      draftModel: llama-3.1-8b\n")).platform,
    );
    const a = plain.models[0]?.memory;
    const b = spec.models[0]?.memory;
    assert.ok(a && b);
    assert.equal(a.draft, undefined);
    assert.ok(b.draft);
    assert.equal(b.draft.model, "llama-3.1-8b");
    // Llama 3.1 8B: 8.03 B parameters in BF16 over 4 ranks ≈ 4.0 GB each; 32 layers × 8 KV heads × 128 × 2 × 2 B = 131,072 B/token.
    assert.ok(b.draft.weightBytes > 3.9e9 && b.draft.weightBytes < 4.1e9, String(b.draft.weightBytes));
    assert.equal(b.draft.kvBytesPerToken, 131_072);
    assert.equal(b.draft.kvBytesPerTokenPerRank, 131_072 / 4);
    assert.ok(
      Math.abs(a.kvBytes - b.kvBytes - b.draft.weightBytes) < 1,
      "the draft's weights come out of the KV pool",
    );
    assert.equal(
      b.kvTokens,
      Math.floor(b.kvBytes / (b.kvBytesPerTokenPerRank + b.draft.kvBytesPerTokenPerRank)),
    );
    assert.ok(b.kvTokens < a.kvTokens);

    const file = join(mkdtempSync(join(tmpdir(), "inferplane-spec-")), "spec.yaml");
    writeFileSync(file, SEVENTY.replace("__SPEC__", "    speculative:\n      draftModel: llama-3.1-8b\n"));
    let out = "";
    const code = await main(["node", "inferplane", "plan", "-c", file], {
      out: (t) => {
        out += t;
      },
      err: () => {},
      isTTY: false,
    });
    assert.equal(code, 0, out);
    assert.match(out, /^SPECULATIVE DRAFT MEMORY \(PER RANK\)$/m);
    assert.match(
      out,
      /llama-70b\s+llama-3\.1-8b\s+[\d.]+ GiB\s+3\.7\d GiB\s+[\d.]+ GiB\s+[\d.]+ GiB\s+81,920 \+ 32,768\s+[\d,]+/,
    );
  });
});
