/**
 * Memory of one llama.cpp replica: the GGUF file (llama.cpp maps the weights as they are stored)
 * plus the KV cache it allocates up front for the whole context of every slot:
 *
 *   KV bytes = layers × (key_length + value_length) × KV heads × context × slots × 2 (f16 cache)
 *
 * the per-layer formula of Ollama's `GraphSize` (ollama fs/ggml/ggml.go), which xllamacpp's
 * `memory.graph_size` also follows. The shapes are read from the GGUF header (ggml docs/gguf.md:
 * magic, version, tensor and metadata counts, then typed key/value pairs).
 */
import { open, stat } from "node:fs/promises";

export interface GgufShape {
  architecture: string;
  layers: number;
  /** KV heads (the largest, where the header lists one per layer). */
  kvHeads: number;
  keyLength: number;
  valueLength: number;
  embeddingLength: number;
  /** Training context, tokens. */
  contextLength: number;
}

export interface ReplicaMemory {
  weightsBytes: number;
  kvBytes: number;
  totalBytes: number;
}

/** f16, llama.cpp's default `--cache-type-k/v`. */
const KV_BYTES_F16 = 2;

/** Weights + KV cache of a replica with `slots` slots of `ctxPerSlot` tokens each. */
export function replicaMemory(
  fileBytes: number,
  shape: GgufShape,
  ctxPerSlot: number,
  slots: number,
): ReplicaMemory {
  const kvBytes =
    shape.layers * (shape.keyLength + shape.valueLength) * shape.kvHeads * ctxPerSlot * slots * KV_BYTES_F16;
  return { weightsBytes: fileBytes, kvBytes, totalBytes: fileBytes + kvBytes };
}

/** A replica's memory with the slots and per-slot context it was sized for. */
export interface SizedReplica extends ReplicaMemory {
  slots: number;
  ctxPerSlot: number;
}

/**
 * Memory of one replica of a GGUF file on this machine with `slots` slots: `ctx` tokens in all
 * (llama.cpp's `--ctx-size`, divided between slots), or the model's training context when 0.
 */
export async function ggufFileMemory(path: string, ctx: number, slots: number): Promise<SizedReplica> {
  const shape = await readGgufShape(path);
  const ctxPerSlot = ctx > 0 ? ctx / slots : shape.contextLength / slots;
  const mem = replicaMemory((await stat(path)).size, shape, ctxPerSlot, slots);
  return { ...mem, slots, ctxPerSlot };
}

type Value = number | bigint | string | boolean | Value[];

/** A forward reader over a file that loads 4 MiB at a time (headers hold large token arrays). */
class FileCursor {
  #buf = Buffer.alloc(0);
  #base = 0;
  #pos = 0;
  constructor(private readonly fd: import("node:fs/promises").FileHandle) {}

  async need(n: number): Promise<void> {
    if (this.#pos + n <= this.#base + this.#buf.length) return;
    const keep = this.#buf.subarray(this.#pos - this.#base);
    const chunk = Buffer.alloc(Math.max(n, 4 << 20));
    const { bytesRead } = await this.fd.read(chunk, 0, chunk.length, this.#base + this.#buf.length);
    if (keep.length + bytesRead < n) throw new RangeError("GGUF header ends early");
    this.#base = this.#pos;
    this.#buf = Buffer.concat([keep, chunk.subarray(0, bytesRead)]);
  }

  async u32(): Promise<number> {
    await this.need(4);
    const v = this.#buf.readUInt32LE(this.#pos - this.#base);
    this.#pos += 4;
    return v;
  }

  async u64(): Promise<bigint> {
    await this.need(8);
    const v = this.#buf.readBigUInt64LE(this.#pos - this.#base);
    this.#pos += 8;
    return v;
  }

  async bytes(n: number): Promise<Buffer> {
    await this.need(n);
    const at = this.#pos - this.#base;
    this.#pos += n;
    return this.#buf.subarray(at, at + n);
  }

  async string(): Promise<string> {
    return (await this.bytes(Number(await this.u64()))).toString("utf8");
  }

  /** One value of GGUF type `type`; arrays of strings are read but not kept (token lists). */
  async value(type: number): Promise<Value> {
    const fixed: Record<number, [number, (b: Buffer) => Value]> = {
      0: [1, (b) => b.readUInt8(0)],
      1: [1, (b) => b.readInt8(0)],
      2: [2, (b) => b.readUInt16LE(0)],
      3: [2, (b) => b.readInt16LE(0)],
      4: [4, (b) => b.readUInt32LE(0)],
      5: [4, (b) => b.readInt32LE(0)],
      6: [4, (b) => b.readFloatLE(0)],
      7: [1, (b) => b.readUInt8(0) !== 0],
      10: [8, (b) => b.readBigUInt64LE(0)],
      11: [8, (b) => b.readBigInt64LE(0)],
      12: [8, (b) => b.readDoubleLE(0)],
    };
    const f = fixed[type];
    if (f) return f[1](await this.bytes(f[0]));
    if (type === 8) return this.string();
    if (type === 9) {
      const itemType = await this.u32();
      const count = Number(await this.u64());
      const out: Value[] = [];
      for (let i = 0; i < count; i++) {
        const v = await this.value(itemType);
        if (itemType !== 8) out.push(v);
      }
      return out;
    }
    throw new RangeError(`unknown GGUF value type ${type}`);
  }
}

const num = (v: Value | undefined, what: string): number => {
  const x = Array.isArray(v) ? Math.max(...v.map((e) => Number(e))) : Number(v);
  if (!Number.isFinite(x)) throw new RangeError(`GGUF header has no ${what}`);
  return x;
};

/** The shape llama.cpp sizes its KV cache by, from a GGUF file's header. */
export async function readGgufShape(path: string): Promise<GgufShape> {
  const fd = await open(path, "r");
  try {
    const c = new FileCursor(fd);
    if ((await c.bytes(4)).toString("latin1") !== "GGUF") throw new RangeError(`${path} is not a GGUF file`);
    await c.u32(); // version
    await c.u64(); // tensor count
    const kvCount = Number(await c.u64());
    const meta = new Map<string, Value>();
    for (let i = 0; i < kvCount; i++) {
      const key = await c.string();
      meta.set(key, await c.value(await c.u32()));
    }
    const arch = String(meta.get("general.architecture"));
    const embedding = num(meta.get(`${arch}.embedding_length`), "embedding_length");
    const heads = num(meta.get(`${arch}.attention.head_count`), "head_count");
    const headDim = Math.floor(embedding / heads);
    return {
      architecture: arch,
      layers: num(meta.get(`${arch}.block_count`), "block_count"),
      kvHeads: num(meta.get(`${arch}.attention.head_count_kv`) ?? heads, "head_count_kv"),
      keyLength: num(meta.get(`${arch}.attention.key_length`) ?? headDim, "key_length"),
      valueLength: num(meta.get(`${arch}.attention.value_length`) ?? headDim, "value_length"),
      embeddingLength: embedding,
      contextLength: num(meta.get(`${arch}.context_length`), "context_length"),
    };
  } finally {
    await fd.close();
  }
}
