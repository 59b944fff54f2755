/** Report files are written whole or not at all: a temporary file beside the target, then rename. */
import { renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { InferplaneError } from "../errors.js";

export function writeFileAtomic(path: string, text: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new InferplaneError("usage", `cannot write ${path}: ${(err as Error).message}`);
  }
}
