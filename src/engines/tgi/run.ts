/**
 * Text Generation Inference in a container: the launcher's flags (TGI docs "Text Generation
 * Launcher Arguments") from the spec and the plan: shards (TP), total tokens, quantization, the
 * CUDA memory fraction, `--speculate`. Weights in Hugging Face layout (../weights.ts).
 */
import type { ModelSpec } from "../../spec/schema.js";
import type { ContainerRun, RunContext } from "../run.js";
import { hubContainer, modelArg } from "../weights.js";
import { tgiSpeculativeArgs } from "./speculative.js";

export function tgiArgs(m: ModelSpec, ctx: RunContext): string[] {
  const args = [
    "--model-id",
    modelArg(m, ctx.cacheMount),
    "--port",
    String(ctx.port),
    "--num-shard",
    String(ctx.tensorParallel),
  ];
  if (ctx.maxModelLen !== undefined) args.push("--max-total-tokens", String(ctx.maxModelLen));
  const q = m.quantization;
  if (q !== undefined && q !== "none") args.push("--quantize", q.startsWith("gptq") ? "gptq" : q);
  args.push("--cuda-memory-fraction", String(ctx.gpuMemoryUtilization));
  return [...args, ...tgiSpeculativeArgs(m), ...m.extraArgs];
}

export function tgiContainer(m: ModelSpec, ctx: RunContext): ContainerRun {
  return hubContainer(m, ctx, { args: tgiArgs(m, ctx) });
}
