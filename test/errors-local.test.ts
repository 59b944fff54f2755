// Error codes of the engines Inferplane runs on this machine, produced for real: the embedded
// engine without its model files, and a llama.cpp server whose Python exits before it listens.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { main } from "../src/cli/main.js";
import { type LaunchConfig, startServer } from "../src/engines/llamacpp/index.js";
import { ERRORS, InferplaneError } from "../src/errors.js";

it("model_files_unavailable: embed-serve over an empty model cache exits 1 and says how to install", async () => {
  const cacheDir = mkdtempSync(join(tmpdir(), "inferplane-no-models-"));
  let err = "";
  const code = await main(["node", "inferplane", "embed-serve", "--cache-dir", cacheDir, "--port", "0"], {
    out: () => {},
    err: (t) => {
      err += `${t}\n`;
    },
    isTTY: false,
  });
  assert.equal(code, ERRORS.model_files_unavailable.exit);
  assert.match(err, /\[model_files_unavailable\]/);
  assert.match(err, /install\.sh embedding_models/);
});

it("local_engine_failed: a llama.cpp launch whose interpreter exits at once names the exit", async () => {
  const config: LaunchConfig = {
    model: { kind: "file", path: "/nonexistent/model.gguf" },
    host: "127.0.0.1",
    port: 0,
    ctx: 0,
    slots: 1,
    threads: 1,
    aliases: ["m"],
    embeddings: false,
  };
  // `false` stands in for the venv's Python: it exits 1 without listening.
  await assert.rejects(startServer("false", config, 10_000), (e: unknown) => {
    assert.ok(e instanceof InferplaneError);
    assert.equal(e.code, "local_engine_failed");
    assert.match(e.message, /exited before listening \(code 1/);
    return true;
  });
});
