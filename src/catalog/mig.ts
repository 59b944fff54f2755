/**
 * MIG placement legality: can this list of GPU-instance profiles live on one GPU at once?
 *
 * A profile occupies `memorySlices` consecutive memory slices starting at one of its legal start
 * slots (the fixed table `nvidia-smi mig -lgipp` prints; see gpus.ts). A layout is legal when
 * every profile is known for the GPU, no profile exceeds its per-GPU instance limit, the compute
 * slices add up to at most the GPU's total, and an assignment of start slots exists with no two
 * instances overlapping. The search below is exact (backtracking over start slots), so
 * `4g+3g` and `3g+2g+2g` pass while `3g+3g+1g` fails although its compute slices sum to 7.
 */
import { getGpu, type MigProfile } from "./gpus.js";

/** Where one instance of a layout sits on the memory-slice axis. */
export interface MigPlacement {
  profile: string;
  /** First memory slice occupied. */
  start: number;
  /** Memory slices occupied. */
  size: number;
}

/** On failure `reason` joins every problem found before placement (`reasons` lists them). */
export type MigLayoutResult =
  | { ok: true; placement: MigPlacement[] }
  | { ok: false; reason: string; reasons: string[] };

/** The profile `name` on GPU `gpuId`, or `undefined` (throws `catalog_unknown_gpu` for an unknown GPU). */
export function migProfile(gpuId: string, name: string): MigProfile | undefined {
  const gpu = getGpu(gpuId);
  const wanted = normalizeProfileName(name);
  return gpu.migProfiles.find((p) => p.name === wanted);
}

/** `MIG 3g.40gb`, `mig-3g.40gb`, `nvidia.com/mig-3g.40gb` and `3G.40GB` all name `3g.40gb`. */
export function normalizeProfileName(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/^nvidia\.com\//, "")
    .replace(/^mig[-\s]+/, "");
}

/**
 * Decide whether `profiles` (one entry per instance, e.g. `["4g.40gb", "3g.40gb"]`) can be
 * created together on one `gpuId` GPU. On success `placement` lists each instance's start slot,
 * sorted by start. Throws `catalog_unknown_gpu` for an unknown GPU id.
 */
export function isLegalMigLayout(gpuId: string, profiles: readonly string[]): MigLayoutResult {
  const gpu = getGpu(gpuId);
  const slices = gpu.migSlices;
  if (slices === null) {
    return fail([`${gpu.id} does not support MIG.`]);
  }

  const known = gpu.migProfiles.map((p) => p.name);
  const instances: MigProfile[] = [];
  const reasons: string[] = [];
  const unknown: string[] = [];
  for (const raw of profiles) {
    const name = normalizeProfileName(raw);
    const profile = gpu.migProfiles.find((p) => p.name === name);
    if (profile === undefined) {
      if (!unknown.includes(raw)) unknown.push(raw);
    } else instances.push(profile);
  }
  for (const raw of unknown) {
    reasons.push(`MIG profile "${raw}" does not exist on ${gpu.id}; its profiles are ${known.join(", ")}.`);
  }

  const counts = new Map<string, number>();
  for (const p of instances) counts.set(p.name, (counts.get(p.name) ?? 0) + 1);
  for (const [name, count] of counts) {
    const profile = gpu.migProfiles.find((p) => p.name === name);
    if (profile !== undefined && count > profile.maxInstances) {
      reasons.push(
        `${count} × ${name} exceeds the ${profile.maxInstances} instances one ${gpu.id} can hold.`,
      );
    }
  }
  // Every instance takes at least one compute slice, whatever its profile (known or not).
  if (profiles.length > slices.compute && reasons.every((r) => !r.includes("exceeds"))) {
    reasons.push(
      `${profiles.length} instances exceed the ${slices.compute} MIG instances one ${gpu.id} can hold (one per compute slice).`,
    );
  }
  if (reasons.length > 0) return fail(reasons);

  const compute = instances.reduce((sum, p) => sum + p.computeSlices, 0);
  if (compute > slices.compute) {
    return fail([`The profiles need ${compute} compute slices; ${gpu.id} has ${slices.compute}.`]);
  }
  const memory = instances.reduce((sum, p) => sum + p.memorySlices, 0);
  if (memory > slices.memory) {
    return fail([
      `The profiles need ${memory} memory slices (${describeSizes(instances)}); ${gpu.id} has ${slices.memory}.`,
    ]);
  }

  // Place the largest instances first: fewer legal starts, so dead ends show up early.
  const order = instances
    .map((p, i) => ({ p, i }))
    .sort(
      (a, b) => b.p.memorySlices - a.p.memorySlices || a.p.starts.length - b.p.starts.length || a.i - b.i,
    );
  const starts = new Array<number>(order.length).fill(-1);
  const used = new Array<boolean>(slices.memory).fill(false);

  const fits = (start: number, size: number): boolean => {
    if (start + size > slices.memory) return false;
    for (let s = start; s < start + size; s++) if (used[s]) return false;
    return true;
  };
  const mark = (start: number, size: number, value: boolean): void => {
    for (let s = start; s < start + size; s++) used[s] = value;
  };
  const place = (k: number): boolean => {
    const item = order[k];
    if (item === undefined) return true;
    const { p } = item;
    // Identical profiles are interchangeable: only try starts after the previous twin's start.
    const prev = order[k - 1];
    const minStart = prev !== undefined && prev.p.name === p.name ? (starts[k - 1] ?? -1) + 1 : 0;
    for (const start of p.starts) {
      if (start < minStart || !fits(start, p.memorySlices)) continue;
      mark(start, p.memorySlices, true);
      starts[k] = start;
      if (place(k + 1)) return true;
      mark(start, p.memorySlices, false);
      starts[k] = -1;
    }
    return false;
  };

  if (!place(0)) {
    return fail([
      `No placement of ${profiles.join(" + ")} fits the ${slices.memory} memory slices of ${gpu.id}: ${describeStarts(instances)}.`,
    ]);
  }

  const placement: MigPlacement[] = order.map(({ p }, k) => ({
    profile: p.name,
    start: starts[k] ?? -1,
    size: p.memorySlices,
  }));
  placement.sort((a, b) => a.start - b.start);
  return { ok: true, placement };
}

function fail(reasons: string[]): MigLayoutResult {
  return { ok: false, reason: reasons.join(" "), reasons };
}

/** `{"1g.10gb": 3, "2g.20gb": 2}` (mig-parted's `mig-devices`) as one entry per instance. */
export function expandMigDevices(devices: Readonly<Record<string, number>>): string[] {
  return Object.entries(devices).flatMap(([name, n]) => Array<string>(Math.max(0, n)).fill(name));
}

function describeStarts(instances: readonly MigProfile[]): string {
  const seen = new Set<string>();
  const parts: string[] = [];
  for (const p of instances) {
    if (seen.has(p.name)) continue;
    seen.add(p.name);
    parts.push(`${p.name} starts at ${p.starts.join("/")} and takes ${p.memorySlices}`);
  }
  return parts.join("; ");
}

function describeSizes(instances: readonly MigProfile[]): string {
  const seen = new Set<string>();
  const parts: string[] = [];
  for (const p of instances) {
    if (seen.has(p.name)) continue;
    seen.add(p.name);
    parts.push(`${p.name} takes ${p.memorySlices}`);
  }
  return parts.join(", ");
}
