/**
 * Replicas whose engine reckons its own memory (llama.cpp: the GGUF file as stored plus the KV
 * cache it allocates up front for every slot's context; src/engines/llamacpp/memory.ts). The
 * figures are read from the files on this machine by the caller (the planner stays pure); here
 * they meet the spec: a CPU replica must fit its `resources.memory`.
 */
import type { OwnReplicaMemory } from "../engines/index.js";
import type { Platform } from "../spec/schema.js";
import { parseQuantity } from "../spec/units.js";
import { gb } from "./memory.js";
import type { EngineMemory, Infeasibility } from "./types.js";

export function engineMemory(
  spec: Platform,
  own: Readonly<Record<string, OwnReplicaMemory>>,
  infeasible: Infeasibility[],
): EngineMemory[] {
  const out: EngineMemory[] = [];
  for (const m of spec.models) {
    const mem = own[m.name];
    if (!mem) continue;
    const limit = m.resources?.memory === undefined ? undefined : parseQuantity(m.resources.memory);
    out.push({ model: m.name, ...mem, ...(limit === undefined ? {} : { limitBytes: limit }) });
    if (limit !== undefined && mem.totalBytes > limit) {
      infeasible.push({
        subject: { kind: "model", name: m.name },
        code: "memory-limit",
        message: `${m.name}: one replica needs ${describe(mem)}, above its resources.memory ${m.resources?.memory} (${gb(limit)}): raise it, or lower maxModelLen or slots`,
      });
    }
  }
  return out;
}

/** "0.2 GB (0.1 GB of weights + 0.1 GB KV cache for 2 slots × 1,024 tokens)" */
export function describe(mem: OwnReplicaMemory): string {
  return (
    `${gb(mem.totalBytes)} (${gb(mem.weightsBytes)} of weights + ${gb(mem.kvBytes)} KV cache for ` +
    `${mem.slots} slot${mem.slots === 1 ? "" : "s"} × ${Math.round(mem.ctxPerSlot).toLocaleString("en-US")} tokens)`
  );
}
