import { InferplaneError } from "../errors.js";
import { specJsonSchema } from "../spec/json-schema.js";
import { specReferenceMarkdown } from "../spec/reference.js";
import { type CliIO, printJson } from "./io.js";

export function schemaCommand(opts: { format?: string }, io: CliIO): number {
  const format = opts.format ?? "json";
  if (format === "json") printJson(io, specJsonSchema());
  else if (format === "markdown") io.out(specReferenceMarkdown());
  else throw new InferplaneError("usage", `--format must be json or markdown (found "${format}")`);
  return 0;
}
