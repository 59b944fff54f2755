// `inferplane sim` as a user runs it: replicas on consecutive ports, a table of URLs, clean exit on SIGTERM.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { freePort, isPortFree } from "../services/harness.js";

const root = new URL("../../", import.meta.url).pathname;
// The CLI from source (tsx), so the test needs no build.
const ENTRY =
  'import { main } from "./src/cli/main.ts"; process.exitCode = await main(["node", "inferplane", ...process.argv.slice(1)]);';
const nodeArgs = ["--import", "tsx", "--input-type=module", "-e", ENTRY];

describe("inferplane sim", () => {
  it("starts N replicas on PORT..PORT+N-1, prints their URLs, serves, and exits 0 on SIGTERM", async () => {
    // Two consecutive free ports: try a few bases.
    let base = 0;
    for (let i = 0; i < 20 && base === 0; i++) {
      const p = await freePort();
      if (p < 65535 && (await isPortFree(p + 1))) base = p;
    }
    assert.ok(base > 0, "two consecutive free ports");
    const child = spawn(
      process.execPath,
      [
        ...nodeArgs,
        "sim",
        "--model",
        "llama-3.1-8b",
        "--port",
        String(base),
        "--replicas",
        "2",
        "--speed",
        "20",
      ],
      {
        cwd: root,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      const deadline = Date.now() + 30_000;
      while (!stdout.includes("Ctrl+C") && Date.now() < deadline) {
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.match(stdout, /2 simulated vLLM/, stderr);
      const urls = [...stdout.matchAll(/http:\/\/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
      assert.deepEqual(urls, [base, base + 1]);
      for (const port of urls) {
        const res = await fetch(`http://127.0.0.1:${port}/v1/models`);
        const body = (await res.json()) as { data: { id: string }[] };
        assert.equal(body.data[0]?.id, "meta-llama/Llama-3.1-8B-Instruct");
      }
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, /simulator stopped/);
  });

  it("exits 2 with a clear message on bad flags", () => {
    const cases: [string[], RegExp][] = [
      [
        ["sim", "--model", "llama-3.1-8b", "--engine", "sglang"],
        /--engine must be one of vllm, tgi, ollama, triton, llamacpp/,
      ],
      [["sim", "--model", "no-such-model"], /Unknown model "no-such-model"/],
      [["sim", "--model", "llama-3.1-8b", "--gpu", "B300"], /Unknown GPU "B300"/],
      [["sim", "--model", "llama-3.1-8b", "--speed", "fast"], /--speed must be a number/],
      [["sim", "--model", "llama-3.1-8b", "--fail-rate", "2"], /failRate must be between 0 and 1/],
      [["sim", "--model", "llama-3.1-70b", "--gpu", "L4"], /does not fit/],
      [
        ["sim", "--model", "llama-3.1-8b", "--num-gpu-blocks", "10", "--max-model-len", "4096"],
        /max-model-len 4096 needs more KV cache/,
      ],
      [["sim", "--model", "llama-3.1-8b", "--startup-delay", "soon"], /--startup-delay must be a duration/],
      [["sim"], /required option/],
    ];
    for (const [args, message] of cases) {
      const r = spawnSync(process.execPath, [...nodeArgs, ...args], {
        cwd: root,
        encoding: "utf8",
        timeout: 30_000,
      });
      assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(" "));
    }
  });
});
