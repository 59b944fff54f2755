// The README's main job: `inferplane up` on the example spec, as a user runs it.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { it } from "node:test";

const root = new URL("../../", import.meta.url).pathname;

it("inferplane up serves the example through simulated replicas and stops cleanly on SIGINT", async () => {
  const child = spawn(
    process.execPath,
    [
      join(root, "bin/inferplane.js"),
      "up",
      "-c",
      join(root, "examples/inferplane.yaml"),
      "--port",
      "0",
      "--json",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const deadline = Date.now() + 30_000;
  while (!out.trimEnd().endsWith("}") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const stack = JSON.parse(out) as {
    gateway: string;
    replicas: { model: string; urls: string[] }[];
    sample: string;
  };
  assert.deepEqual(
    stack.replicas.map((r) => [r.model, r.urls.length]),
    [
      ["qwen-7b", 2],
      ["bge-m3", 1],
      ["bge-reranker", 1],
    ],
  );
  assert.match(stack.sample, /curl .*\/v1\/chat\/completions/);
  const chat = await fetch(`${stack.gateway}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "Hello!" }], max_tokens: 8 }),
  });
  assert.equal(chat.status, 200);
  const body = (await chat.json()) as { model: string; usage: { completion_tokens: number } };
  assert.equal(body.model, "chat", "the name the client asked for");
  assert.equal(chat.headers.get("x-inferplane-served-model"), "Qwen/Qwen2.5-7B-Instruct-AWQ");
  assert.ok(body.usage.completion_tokens > 0);
  const embed = await fetch(`${stack.gateway}/v1/embeddings`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "embed", input: "GPU scheduling" }),
  });
  const vectors = (await embed.json()) as { data: { embedding: number[] }[] };
  assert.equal(vectors.data[0]?.embedding.length, 1024, "bge-m3's 1024 dimensions");
  assert.equal((await fetch(`${stack.gateway}/readyz`)).status, 200);
  child.kill("SIGINT");
  assert.equal(await exited, 0);
});
