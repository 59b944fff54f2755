/**
 * One embedding model in ONNX Runtime: tokenise, run the encoder, pool, normalise — the recipe
 * comes from the catalog (`ModelSpec.embedding`). Every text runs as its own batch of one: int8
 * dynamic quantisation picks its scales over the whole input tensor, so a text's vector would
 * otherwise depend on its batch-mates (cosine down to 0.991 between batch 1 and 16, measured);
 * batch 1 gives the same vector as the Python reference, whatever else is queued.
 */
import { readFileSync } from "node:fs";
import type { EmbeddingFacts, ModelSpec } from "../../catalog/models.js";
import { InferplaneError } from "../../errors.js";
import type { ModelFiles } from "./install.js";

type Ort = typeof import("onnxruntime-node");
type Session = Awaited<ReturnType<Ort["InferenceSession"]["create"]>>;

interface TokenizerLike {
  encode(text: string): { ids: number[] };
}

export interface LoadOptions {
  /** ONNX Runtime intra-op threads; 1 keeps a shared machine responsive. */
  threads?: number;
}

export class EmbeddingModel {
  readonly dimensions: number;
  readonly facts: EmbeddingFacts;
  private readonly cls: number;
  private readonly sep: number;

  private constructor(
    readonly spec: ModelSpec,
    private readonly ort: Ort,
    private readonly session: Session,
    private readonly tokenizer: TokenizerLike,
    private readonly vocabSize: number,
    special: { cls: number; sep: number },
  ) {
    if (!spec.embedding || !spec.embeddingDims) {
      throw new InferplaneError("invalid_request", `${spec.id} is not an embedding model`);
    }
    this.facts = spec.embedding;
    this.dimensions = spec.embeddingDims;
    this.cls = special.cls;
    this.sep = special.sep;
  }

  static async load(spec: ModelSpec, files: ModelFiles, opts: LoadOptions = {}): Promise<EmbeddingModel> {
    // Heavy native module: loaded only when a model is.
    const ort = await import("onnxruntime-node");
    const { Tokenizer } = await import("@huggingface/tokenizers");
    const json = JSON.parse(readFileSync(files.tokenizer, "utf8")) as {
      model?: { vocab?: Record<string, number> };
    };
    const tokenizer = new Tokenizer(json, {}) as TokenizerLike;
    const vocab = json.model?.vocab ?? {};
    const cls = vocab["[CLS]"];
    const sep = vocab["[SEP]"];
    if (cls === undefined || sep === undefined) {
      throw new InferplaneError("model_files_invalid", `${files.tokenizer}: no [CLS]/[SEP] tokens`);
    }
    const threads = opts.threads ?? 1;
    const session = await ort.InferenceSession.create(files.onnx, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
    });
    return new EmbeddingModel(spec, ort, session, tokenizer, Object.keys(vocab).length, { cls, sep });
  }

  /** Token ids of a text, special tokens included, truncated to the model's limit. */
  tokenize(text: string): number[] {
    return this.truncate(this.tokenizer.encode(text).ids);
  }

  /** The query instruction prepended to `text` when the model has one. */
  asQuery(text: string): string {
    return (this.facts.queryInstruction ?? "") + text;
  }

  /**
   * Token ids given by a client: checked against the vocabulary, wrapped in [CLS] … [SEP]
   * unless already wrapped, truncated like text.
   */
  fromTokenIds(ids: readonly number[], param: string): number[] {
    for (const [i, id] of ids.entries()) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new InferplaneError(
          "invalid_request",
          `${param}[${i}]: ${id} is not a token id of ${this.spec.id} (0..${this.vocabSize - 1})`,
          { param },
        );
      }
    }
    const wrapped = ids[0] === this.cls && ids[ids.length - 1] === this.sep;
    return this.truncate(wrapped ? [...ids] : [this.cls, ...ids, this.sep]);
  }

  private truncate(ids: number[]): number[] {
    const max = this.facts.maxTokens;
    if (ids.length <= max) return ids;
    return [...ids.slice(0, max - 1), this.sep];
  }

  /** One encoder run on one sequence; pooled and normalised as the catalog says. */
  async embedIds(ids: readonly number[]): Promise<Float32Array> {
    const n = ids.length;
    const big = (xs: Iterable<number>) => BigInt64Array.from(xs, (x) => BigInt(x));
    const feeds: Record<string, InstanceType<Ort["Tensor"]>> = {};
    for (const name of this.session.inputNames) {
      const data =
        name === "input_ids"
          ? big(ids)
          : name === "attention_mask"
            ? big(new Array<number>(n).fill(1))
            : big(new Array<number>(n).fill(0)); // token_type_ids: one segment
      feeds[name] = new this.ort.Tensor("int64", data, [1, n]);
    }
    const out = await this.session.run(feeds);
    const first = this.session.outputNames[0] as string;
    const hidden = (out[first] as InstanceType<Ort["Tensor"]>).data as Float32Array;
    const d = this.dimensions;
    const v = new Float32Array(d);
    if (this.facts.pooling === "cls") v.set(hidden.subarray(0, d));
    else {
      for (let t = 0; t < n; t++)
        for (let j = 0; j < d; j++) v[j] = (v[j] as number) + (hidden[t * d + j] as number);
      for (let j = 0; j < d; j++) v[j] = (v[j] as number) / n;
    }
    if (this.facts.normalize) {
      let s = 0;
      for (const x of v) s += x * x;
      const norm = Math.sqrt(s) || 1;
      for (let j = 0; j < d; j++) v[j] = (v[j] as number) / norm;
    }
    return v;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
