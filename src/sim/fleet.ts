/** A fleet of simulator replicas on consecutive ports, each its own engine. */

import type { SimServerOptions } from "./options.js";
import { positiveInt, resolveSimOptions, usage } from "./options.js";
import { Replica, type SimServerHandle } from "./replica.js";

export interface SimFleetOptions extends SimServerOptions {
  /** Replicas on ports port, port+1, …; each its own engine (default 1). */
  replicas?: number;
}

export interface SimFleetHandle {
  replicas: SimServerHandle[];
  urls: string[];
  /** Stops every replica for good. */
  stop(): Promise<void>;
}

/** Starts N replicas on consecutive ports (or N ephemeral ports with port 0). */
export async function startSimFleet(options: SimFleetOptions): Promise<SimFleetHandle> {
  const n = options.replicas ?? 1;
  positiveInt("replicas", n);
  const base = options.port ?? 0;
  if (base !== 0 && base + n - 1 > 65535) throw usage(`ports ${base}–${base + n - 1} run past 65535`);
  const setups = Array.from({ length: n }, (_, i) =>
    resolveSimOptions({ ...options, port: base === 0 ? 0 : base + i, replicaIndex: i }),
  );
  const replicas: SimServerHandle[] = [];
  try {
    for (const s of setups) {
      const r = new Replica(s);
      await r.start();
      replicas.push(r);
    }
  } catch (err) {
    await Promise.all(replicas.map((r) => r.stop()));
    throw err;
  }
  return {
    replicas,
    urls: replicas.map((r) => r.url),
    stop: async () => {
      await Promise.all(replicas.map((r) => r.stop()));
    },
  };
}
