/**
 * Embedders that skip HTTP: the embedded engine's model called in this process (benchmarks and
 * evaluation, where the gateway hop is not what is measured), and a file cache of vectors in
 * front of any embedder (Cranfield's vectors are computed once, then every store test reuses
 * them). Both give exactly the vectors the engine serves.
 */
import { createHash } from "node:crypto";
import { appendFileSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import type { EmbeddingModel } from "../engines/index.js";
import type { Span } from "../telemetry/tracing.js";
import type { Embedder, InputType } from "./clients.js";

export class ModelEmbedder implements Embedder {
  constructor(readonly model: EmbeddingModel) {}

  async embed(texts: string[], _parent?: Span, inputType: InputType = "document"): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (const t of texts) {
      const text = inputType === "query" ? this.model.asQuery(t) : t;
      out.push(await this.model.embedIds(this.model.tokenize(text)));
    }
    return out;
  }
}

/**
 * Vectors of `inner` cached in an append-only JSON-lines file, keyed by SHA-256 of
 * (namespace, input type, text). The namespace names the model files (their SHA-256), so a
 * new pin never reads an old vector.
 */
export class CachingEmbedder implements Embedder {
  private readonly vectors = new Map<string, Float32Array>();
  hits = 0;
  misses = 0;

  constructor(
    private readonly inner: Embedder,
    private readonly file: string,
    private readonly namespace: string,
  ) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {}
    for (const line of text.split("\n")) {
      if (!line) continue;
      try {
        const { k, v } = JSON.parse(line) as { k: string; v: string };
        const b = Buffer.from(v, "base64");
        this.vectors.set(k, new Float32Array(b.buffer, b.byteOffset, b.length / 4).slice());
      } catch {} // a torn last line from an interrupted run
    }
  }

  get size(): number {
    return this.vectors.size;
  }

  private key(text: string, inputType: InputType): string {
    return createHash("sha256").update(`${this.namespace}\0${inputType}\0${text}`).digest("hex");
  }

  async embed(texts: string[], parent?: Span, inputType: InputType = "document"): Promise<Float32Array[]> {
    const keys = texts.map((t) => this.key(t, inputType));
    const missing = [...new Set(texts.filter((_, i) => !this.vectors.has(keys[i] as string)))];
    if (missing.length > 0) {
      this.misses += missing.length;
      const got = await this.inner.embed(missing, parent, inputType);
      mkdirSync(dirname(this.file), { recursive: true });
      const lines: string[] = [];
      missing.forEach((t, i) => {
        const k = this.key(t, inputType);
        const v = got[i] as Float32Array;
        this.vectors.set(k, v);
        lines.push(
          JSON.stringify({ k, v: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64") }),
        );
      });
      appendFileSync(this.file, `${lines.join("\n")}\n`);
    }
    this.hits += texts.length - missing.length;
    return keys.map((k) => this.vectors.get(k) as Float32Array);
  }
}
