/**
 * `/v1/embeddings` request checking, pure: the OpenAI body (`input` as a string, strings, token
 * ids or lists of token ids; `encoding_format` float or base64; `dimensions`) plus `input_type`
 * (`query` or `document`, as Cohere, Voyage and Jina name it) which selects the model's query
 * instruction. Errors name the field at fault.
 */
import type { EmbeddingFacts } from "../../catalog/models.js";
import { InferplaneError } from "../../errors.js";

/** OpenAI's limit on inputs per request (API reference, "Create embeddings"). */
export const MAX_INPUTS = 2048;

export type EmbeddingInput = { kind: "text"; text: string } | { kind: "ids"; ids: number[] };

export interface EmbeddingRequest {
  model: string;
  inputs: EmbeddingInput[];
  encoding: "float" | "base64";
  inputType: "query" | "document";
  /** Output size; the native one unless the model is Matryoshka. */
  dimensions: number;
  /** Field path of input `i` in the body (`input` or `input[i]`), for error messages. */
  paramOf(i: number): string;
}

const bad = (param: string, message: string) =>
  new InferplaneError("invalid_request", `${param}: ${message}`, { param });

const isIds = (x: unknown): x is number[] =>
  Array.isArray(x) && x.length > 0 && x.every((v) => typeof v === "number");

export function parseEmbeddingRequest(
  body: unknown,
  model: { dimensions: number; facts: EmbeddingFacts },
): EmbeddingRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new InferplaneError("invalid_json", "the body must be a JSON object");
  }
  const b = body as Record<string, unknown>;
  if (typeof b.model !== "string" || b.model === "") throw bad("model", "a model name is required");
  const input = b.input;
  let inputs: EmbeddingInput[];
  let nested = false;
  if (typeof input === "string") inputs = [{ kind: "text", text: input }];
  else if (isIds(input)) inputs = [{ kind: "ids", ids: input }];
  else if (Array.isArray(input) && input.length > 0) {
    nested = true;
    inputs = input.map((x, i) => {
      if (typeof x === "string") return { kind: "text", text: x };
      if (isIds(x)) return { kind: "ids", ids: x };
      throw bad(`input[${i}]`, "each input must be a non-empty string or a non-empty array of token ids");
    });
  } else throw bad("input", "give a string, an array of strings, or token ids");
  if (inputs.length > MAX_INPUTS) throw bad("input", `${inputs.length} inputs, at most ${MAX_INPUTS}`);
  for (const [i, x] of inputs.entries()) {
    if (x.kind === "text" && x.text.trim() === "") throw bad(nested ? `input[${i}]` : "input", "empty text");
  }
  const encoding = b.encoding_format ?? "float";
  if (encoding !== "float" && encoding !== "base64") {
    throw bad("encoding_format", `"${String(encoding)}" is not float or base64`);
  }
  const inputType = b.input_type ?? "document";
  if (inputType !== "query" && inputType !== "document") {
    throw bad("input_type", `"${String(inputType)}" is not query or document`);
  }
  let dimensions = model.dimensions;
  if (b.dimensions !== undefined && b.dimensions !== null) {
    const d = b.dimensions;
    if (typeof d !== "number" || !Number.isInteger(d) || d <= 0)
      throw bad("dimensions", "a positive integer");
    if (d !== model.dimensions) {
      if (!model.facts.matryoshka) {
        throw bad(
          "dimensions",
          `this model only gives ${model.dimensions} dimensions (not a Matryoshka model)`,
        );
      }
      if (d > model.dimensions) throw bad("dimensions", `at most ${model.dimensions}`);
    }
    dimensions = d;
  }
  return {
    model: b.model,
    inputs,
    encoding,
    inputType,
    dimensions,
    paramOf: (i) => (nested ? `input[${i}]` : "input"),
  };
}

/** A Matryoshka prefix, renormalised; the vector itself when no cut is asked for. */
export function cut(v: Float32Array, dimensions: number, normalize: boolean): Float32Array {
  if (dimensions >= v.length) return v;
  const out = v.slice(0, dimensions);
  if (!normalize) return out;
  let s = 0;
  for (const x of out) s += x * x;
  const norm = Math.sqrt(s) || 1;
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) / norm;
  return out;
}

/** OpenAI's base64 encoding: the little-endian float32 bytes. */
export function toBase64(v: Float32Array): string {
  const b = Buffer.alloc(v.length * 4);
  for (let i = 0; i < v.length; i++) b.writeFloatLE(v[i] as number, i * 4);
  return b.toString("base64");
}
