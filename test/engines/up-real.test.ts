// `inferplane up -c examples/local-real.yaml` as a user runs it: one route on a REAL llama.cpp server
// with real weights (SmolLM2-135M), the rest simulated; the curl it prints returns real text.
// Runs dist/ (the README's `npm ci && npm run build` first); the engine's venv comes from the
// repository's .cache (install.sh llamacpp), where `up` finds it already installed.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { INSTALL_SCRIPT, REPO_ROOT, requireService, run } from "../services/harness.js";
import { LLAMACPP_CACHE } from "../services/llamacpp.js";

it("up -c examples/local-real.yaml: real and simulated endpoints listed; the printed curl returns real text", async (t) => {
  const ready = await requireService(t, "llama.cpp", async () => {
    const res = await run("bash", [INSTALL_SCRIPT, "llamacpp"], { timeoutMs: 600_000 });
    if (res.code !== 0) throw new Error(`install.sh llamacpp failed:\n${res.stderr.slice(-1500)}`);
    return { installed: true };
  });
  if (!ready) return;
  const child = spawn(
    process.execPath,
    [
      join(REPO_ROOT, "bin/inferplane.js"),
      "up",
      "-c",
      join(REPO_ROOT, "examples/local-real.yaml"),
      "--port",
      "0",
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, INFERPLANE_CACHE_DIR: LLAMACPP_CACHE } },
  );
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    err += d.toString();
  });
  try {
    const deadline = Date.now() + 120_000;
    while (!/^ {2}curl .*$/m.test(out) && Date.now() < deadline && child.exitCode === null) await sleep(200);
    const curl = /^ {2}(curl .*)$/m.exec(out)?.[1];
    assert.ok(curl, `up printed a curl to try:\n${out}\n${err.slice(-2000)}`);
    assert.match(out, /smollm2\[0\]\s+llamacpp \(real\)\s+CPU\s+http:\/\/127\.0\.0\.1:\d+/);
    assert.match(out, /qwen-7b\[1\]\s+vllm \(simulated\)/);
    assert.match(
      out,
      /Real engines \(real weights\):\n {2}smollm2: llama\.cpp \(xllamacpp [\d.]+, real, CPU, 1 thread\)/,
    );
    assert.match(curl, /"model":"smollm2"/, "the sample goes to the route with real weights");

    const res = await run("bash", ["-c", `${curl} -sS --max-time 120`], { timeoutMs: 130_000 });
    assert.equal(res.code, 0, res.stderr);
    const body = JSON.parse(res.stdout) as {
      choices: { message: { content: string } }[];
      usage: { completion_tokens: number };
    };
    const text = body.choices[0]?.message.content ?? "";
    assert.match(text, /[A-Za-z]{3,}/, `real words from real weights: ${JSON.stringify(text)}`);
    assert.ok(body.usage.completion_tokens > 0);

    // A fully real local RAG on the same stack: real embeddings (bge-small on the embedded engine)
    // for retrieval, real generation (SmolLM2 on llama.cpp) for the answer.
    assert.match(out, /bge-small\[0\]\s+embedded \(real\)\s+CPU/);
    const gateway = /^gateway\s+inferplane\s+(http:\/\/\S+)/m.exec(out)?.[1];
    assert.ok(gateway, "up lists the gateway's URL");
    await localRag(gateway);
  } finally {
    child.kill("SIGINT");
  }
  assert.equal(await exited, 0, err.slice(-2000));
  const urls = [...out.matchAll(/llamacpp \(real\)\s+CPU\s+(http:\/\/\S+)/g)].map((m) => m[1] as string);
  for (const u of urls) {
    await assert.rejects(
      fetch(`${u}/health`, { signal: AbortSignal.timeout(2_000) }),
      "the real server stopped with up",
    );
  }
});

/** Three documents ingested through `up`'s gateway; `rag ask` answers from the right one and lists it first. */
async function localRag(gateway: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "inferplane-local-rag-"));
  try {
    await mkdir(join(dir, "docs"));
    const docs: Record<string, string> = {
      "reactor.txt":
        "The Zorblax reactor on Mars station Kappa runs on liquid helium-3 and produces 42 megawatts.",
      "food.txt": "The cafeteria on station Kappa serves tomato soup every Tuesday and pancakes on Sundays.",
      "security.txt": "Station Kappa's airlock codes rotate every six hours; the commander is Ada Okafor.",
    };
    for (const [name, text] of Object.entries(docs)) await writeFile(join(dir, "docs", name), `${text}\n`);
    const cli = (args: string[]) =>
      run(
        process.execPath,
        [
          join(REPO_ROOT, "bin/inferplane.js"),
          "rag",
          ...args,
          "-c",
          join(REPO_ROOT, "examples/local-real.yaml"),
          "--gateway",
          gateway,
        ],
        { cwd: dir, timeoutMs: 180_000 },
      );
    const ingest = await cli(["ingest", join(dir, "docs")]);
    assert.equal(ingest.code, 0, ingest.stderr);
    assert.match(ingest.stdout + ingest.stderr, /3 documents/);
    const ask = await cli(["ask", "How much power does the Zorblax reactor produce?", "--json"]);
    assert.equal(ask.code, 0, ask.stderr);
    const answer = JSON.parse(ask.stdout) as {
      choices: { message: { content: string } }[];
      sources: { docId: string; score: number }[];
    };
    assert.equal(answer.sources[0]?.docId, "reactor.txt", "real retrieval puts the right document first");
    const reply = answer.choices[0]?.message.content ?? "";
    assert.match(reply, /[A-Za-z]{3,}/, `a real generated answer: ${JSON.stringify(reply)}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
