/**
 * `up`'s runner for `engine: embedded`: installs the model files once (pinned, SHA-256 checked),
 * then starts each replica as its own process on a loopback port, like `inferplane sim`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { InferplaneError } from "../../errors.js";
import { catalogModelOf, servedModelName } from "../../spec/checks.js";
import type { ModelSpec as SpecModel } from "../../spec/schema.js";
import type { LocalReplicas, LocalRunner, LocalRunOptions } from "../local.js";
import { ensureModelFiles } from "./install.js";
import { embeddedModel } from "./serve.js";

/** Catalog id of a spec model: `catalog`, else the catalog model of its hf:// source. */
export function catalogIdOf(model: SpecModel): string {
  return catalogModelOf(model)?.id ?? model.catalog ?? model.source;
}

const ENTRY = fileURLToPath(
  new URL(`./replica-main${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url),
);

function startReplica(options: Record<string, unknown>): Promise<{ url: string; child: ChildProcess }> {
  // Under tsx (tests) the entry is TypeScript; the built package runs plain JavaScript.
  const args = ENTRY.endsWith(".ts") ? ["--import", "tsx", ENTRY] : [ENTRY];
  const child = spawn(process.execPath, [...args, JSON.stringify(options)], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let buf = "";
    const onData = (d: Buffer) => {
      buf += d.toString("utf8");
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      child.stdout?.off("data", onData);
      try {
        const msg = JSON.parse(buf.slice(0, nl)) as { url?: string; error?: string };
        if (msg.url) resolve({ url: msg.url, child });
        else reject(new InferplaneError("model_files_unavailable", msg.error ?? "the replica did not start"));
      } catch {
        reject(new InferplaneError("internal", `embedding replica said: ${buf.slice(0, 200)}`));
      }
    };
    child.stdout?.on("data", onData);
    child.once("exit", (code) =>
      reject(new InferplaneError("internal", `embedding replica exited with ${code}`)),
    );
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

export const localRunner: LocalRunner = {
  async start(model: SpecModel, options: LocalRunOptions): Promise<LocalReplicas> {
    const { spec, artifact } = embeddedModel(catalogIdOf(model));
    await ensureModelFiles(options.cacheDir, artifact, { progress: options.progress });
    const children: ChildProcess[] = [];
    try {
      const urls: string[] = [];
      for (let i = 0; i < options.replicas; i++) {
        const r = await startReplica({
          model: spec.id,
          servedModelName: servedModelName(model),
          cacheDir: options.cacheDir,
          host: "127.0.0.1",
          port: 0,
        });
        children.push(r.child);
        urls.push(r.url);
      }
      return {
        urls,
        real: true,
        describe: `embedded ONNX Runtime, ${spec.id} ${artifact.precision} (real, CPU, 1 thread)`,
        close: async () => {
          await Promise.all(children.map(stop));
        },
      };
    } catch (err) {
      await Promise.all(children.map(stop));
      throw err;
    }
  },
};
