/**
 * Models of a platform that the embedded engine runs, started inside this process for `rag`
 * commands (no `up` needed): their files are installed once (pinned, SHA-256 checked), then each
 * gets a loopback replica the in-process gateway routes to like any other endpoint.
 */
import {
  catalogIdOf,
  defaultCacheDir,
  embeddedModel,
  ensureModelFiles,
  serveEmbeddings,
} from "../engines/index.js";
import { servedModelName } from "../spec/checks.js";
import type { Platform } from "../spec/schema.js";

export interface LocalEmbedded {
  /** Endpoints per model name, for `startGateway({ endpoints })`. */
  endpoints: Record<string, string[]>;
  close(): Promise<void>;
}

export async function startLocalEmbedded(
  platform: Platform,
  opts: { cacheDir?: string; progress?: (m: string) => void } = {},
): Promise<LocalEmbedded> {
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const endpoints: Record<string, string[]> = {};
  const closers: (() => Promise<void>)[] = [];
  try {
    for (const m of platform.models) {
      if (m.engine !== "embedded" || m.endpoints.length > 0 || m.discovery) continue;
      const { spec, artifact } = embeddedModel(catalogIdOf(m));
      await ensureModelFiles(cacheDir, artifact, opts.progress ? { progress: opts.progress } : {});
      const server = await serveEmbeddings({ model: spec.id, servedModelName: servedModelName(m), cacheDir });
      closers.push(() => server.close());
      endpoints[m.name] = [server.url];
    }
  } catch (err) {
    await Promise.all(closers.map((c) => c()));
    throw err;
  }
  return { endpoints, close: async () => void (await Promise.all(closers.map((c) => c()))) };
}
