/**
 * Summarizes a V8 `.cpuprofile`: busy time by component (self time of the frames whose script
 * belongs to it), the hottest functions by self time, and inclusive time under a few named
 * functions. Idle time is left out of every share.
 */
import { readFileSync } from "node:fs";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Profiled wall time and the busy (non-idle) part of it, ms. */
  wallMs: number;
  busyMs: number;
  /** Component → share of busy time (self time), descending. */
  components: { component: string; ms: number; share: number }[];
  /** Hottest functions by self time. */
  top: { fn: string; where: string; component: string; ms: number; share: number }[];
  /** Inclusive time under functions whose name matches, share of busy time. */
  inclusive: { name: string; ms: number; share: number }[];
}

/** Native stream-binding functions: the socket syscalls (on loopback, a send also runs the peer's receive path). */
const NATIVE_IO = new Set([
  "writev",
  "writeBuffer",
  "writeUtf8String",
  "writeLatin1String",
  "writeAsciiString",
  "readStart",
  "readStop",
  "shutdown",
  "close",
]);

export function component(f: CallFrame): string {
  const u = f.url;
  const n = f.functionName;
  if (u === "") {
    if (n === "(garbage collector)") return "GC";
    if (n === "(idle)") return "idle";
    if (n === "(program)") return "V8/native (program)";
    if (n === "(root)") return "root";
    if (NATIVE_IO.has(n)) return "socket I/O (native writes, syscalls)";
    return "V8 builtins and other native";
  }
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u);
  if (nm) {
    const pkg = nm[1] as string;
    if (
      /^(fastify|find-my-way|avvio|light-my-request|@fastify\/.*|fast-json-stringify|secure-json-parse)$/.test(
        pkg,
      )
    )
      return "fastify";
    return pkg;
  }
  const gw = /\/(?:dist|src)\/gateway\/(.+)\.[jt]s$/.exec(u);
  if (gw) return `inferplane gateway/${gw[1]}`;
  if (/\/(?:dist|src)\//.test(u)) return "inferplane (other)";
  if (u.startsWith("node:")) {
    const m = u.slice(5);
    if (/http|_http_/.test(m)) return "node:http";
    if (/^(net|internal\/net|internal\/stream_base_commons|internal\/streams|stream)/.test(m))
      return "node:net+streams";
    if (/timers/.test(m)) return "node:timers";
    if (/process\/task_queues|async_hooks|internal\/async/.test(m)) return "node:task queues";
    if (/events/.test(m)) return "node:events";
    return "node:other";
  }
  return "other";
}

export function summarizeProfile(
  p: CpuProfile,
  inclusiveNames: readonly string[] = [],
  topN = 25,
): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  for (const n of p.nodes) byId.set(n.id, n);
  const self = new Map<number, number>();
  const meanDelta = (p.endTime - p.startTime) / Math.max(1, p.samples.length);
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i] as number;
    const dt = p.timeDeltas[i + 1] ?? meanDelta;
    self.set(id, (self.get(id) ?? 0) + Math.max(0, dt));
  }
  let idle = 0;
  let total = 0;
  const comps = new Map<string, number>();
  const fns = new Map<string, { fn: string; where: string; component: string; us: number }>();
  for (const [id, us] of self) {
    const n = byId.get(id) as ProfileNode;
    const c = component(n.callFrame);
    total += us;
    if (c === "idle") {
      idle += us;
      continue;
    }
    comps.set(c, (comps.get(c) ?? 0) + us);
    const where = n.callFrame.url
      ? `${n.callFrame.url.replace(/^.*\/(node_modules|dist|src)\//, "$1/")}:${n.callFrame.lineNumber + 1}`
      : "";
    const key = `${n.callFrame.functionName}@${where}`;
    const f = fns.get(key) ?? { fn: n.callFrame.functionName || "(anonymous)", where, component: c, us: 0 };
    f.us += us;
    fns.set(key, f);
  }
  const busy = total - idle;
  const share = (us: number) => (busy > 0 ? us / busy : 0);

  // Inclusive time: self time of every node at or below a frame whose name matches (counted once).
  const inclusive = inclusiveNames.map((name) => {
    let us = 0;
    const root = p.nodes[0];
    if (!root) return { name, ms: 0, share: 0 };
    const stack: [number, boolean][] = [[root.id, false]];
    while (stack.length > 0) {
      const [id, inside] = stack.pop() as [number, boolean];
      const n = byId.get(id) as ProfileNode;
      const here = inside || n.callFrame.functionName === name;
      if (here) us += self.get(id) ?? 0;
      for (const c of n.children ?? []) stack.push([c, here]);
    }
    return { name, ms: us / 1000, share: share(us) };
  });

  return {
    wallMs: (p.endTime - p.startTime) / 1000,
    busyMs: busy / 1000,
    components: [...comps.entries()]
      .map(([c, us]) => ({ component: c, ms: us / 1000, share: share(us) }))
      .sort((a, b) => b.ms - a.ms),
    top: [...fns.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map((f) => ({
        fn: f.fn,
        where: f.where,
        component: f.component,
        ms: f.us / 1000,
        share: share(f.us),
      })),
    inclusive,
  };
}

export function summarizeProfileFile(file: string, inclusiveNames: readonly string[] = []): ProfileSummary {
  return summarizeProfile(JSON.parse(readFileSync(file, "utf8")) as CpuProfile, inclusiveNames);
}
