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

/** The inputs of `input`, and whether it was a list (so errors name `input[i]`). */
function parseInputs(input: unknown): { inputs: EmbeddingInput[]; nested: boolean } {
  if (typeof input === "string") return { inputs: [{ kind: "text", text: input }], nested: false };
  if (isIds(input)) return { inputs: [{ kind: "ids", ids: input }], nested: false };
  if (!Array.isArray(input) || input.length === 0) {
    throw bad("input", "give a string, an array of strings, or token ids");
  }
  const inputs = input.map((x, i): EmbeddingInput => {
    if (typeof x === "string") return { kind: "text", text: x };
    if (isIds(x)) return { kind: "ids", ids: x };
    throw bad(`input[${i}]`, "each input must be a non-empty string or a non-empty array of token ids");
  });
  return { inputs, nested: true };
}

function checkInputs(inputs: EmbeddingInput[], nested: boolean): void {
  if (inputs.length > MAX_INPUTS) throw bad("input", `${inputs.length} inputs, at most ${MAX_INPUTS}`);
  for (const [i, x] of inputs.entries()) {
    if (x.kind === "text" && x.text.trim() === "") throw bad(nested ? `input[${i}]` : "input", "empty text");
  }
}

/** The output size asked for: the native one, or a shorter Matryoshka prefix. */
function parseDimensions(asked: unknown, model: { dimensions: number; facts: EmbeddingFacts }): number {
  if (asked === undefined || asked === null) return model.dimensions;
  if (typeof asked !== "number" || !Number.isInteger(asked) || asked <= 0)
    throw bad("dimensions", "a positive integer");
  if (asked !== model.dimensions) {
    if (!model.facts.matryoshka) {
      throw bad(
        "dimensions",
        `this model only gives ${model.dimensions} dimensions (not a Matryoshka model)`,
      );
    }
    if (asked > model.dimensions) throw bad("dimensions", `at most ${model.dimensions}`);
  }
  return asked;
}

export function parseEmbeddingRequest(
  body: unknown,
  model: { dimensions: number; facts: EmbeddingFacts },
): EmbeddingRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new InferplaneError("invalid_json", "the body must be a JSON object");
  }
  const b = body as Record<string, unknown>;
  if (typeof b.model !== "string" || b.model === "") throw bad("model", "a model name is required");
  const { inputs, nested } = parseInputs(b.input);
  checkInputs(inputs, nested);
  const encoding = b.encoding_format ?? "float";
  if (encoding !== "float" && encoding !== "base64") {
    throw bad("encoding_format", `"${String(encoding)}" is not float or base64`);
  }
  const inputType = b.input_type ?? "document";
  if (inputType !== "query" && inputType !== "document") {
    throw bad("input_type", `"${String(inputType)}" is not query or document`);
  }
  return {
    model: b.model,
    inputs,
    encoding,
    inputType,
    dimensions: parseDimensions(b.dimensions, model),
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
