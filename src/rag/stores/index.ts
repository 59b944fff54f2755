/** The store named by the spec: one backend, or a vector store and a keyword store side by side. */
import type { RagSpec } from "../../spec/schema.js";
import type { RagStore } from "../types.js";
import { CompositeStore } from "./composite.js";
import { SqliteStore } from "./sqlite.js";

type Stores = RagSpec["stores"];

export async function createStore(stores: Stores, env: NodeJS.ProcessEnv = process.env): Promise<RagStore> {
  const { vector, keyword } = stores;
  const open = async (s: Stores["vector"] | Stores["keyword"]): Promise<RagStore> => {
    switch (s.kind) {
      case "sqlite":
        return new SqliteStore(s.path);
      case "milvus": {
        const { MilvusStore } = await import("./milvus.js");
        const token = s.tokenEnv ? env[s.tokenEnv] : undefined;
        return new MilvusStore({
          uri: s.uri,
          database: s.database,
          index: s.index,
          ...(token ? { token } : {}),
        });
      }
      case "opensearch":
      case "elasticsearch": {
        const { SearchEngineStore } = await import("./search-engine.js");
        const username = s.usernameEnv ? env[s.usernameEnv] : undefined;
        const password = s.passwordEnv ? env[s.passwordEnv] : undefined;
        return SearchEngineStore.connect({
          flavour: s.kind,
          url: s.url,
          indexPrefix: s.indexPrefix,
          ...(username && password ? { auth: { username, password } } : {}),
        });
      }
    }
  };
  const same = vector.kind === "sqlite" && keyword.kind === "sqlite" && vector.path === keyword.path;
  if (same) return open(vector);
  return new CompositeStore(await open(vector), await open(keyword));
}
