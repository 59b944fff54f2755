/**
 * The engines the simulator has a flavour of, each from its own folder (`<engine>/sim.ts`): its
 * native routes and error body, what it samples, and how its exposition looks. Apart from
 * index.ts so that the gateway's registry does not load the simulator's wires.
 */
import { ENGINE_IDS, type EngineId } from "../catalog/engines.js";
import type { SimFlavourFacts } from "../sim/flavours.js";
import { llamacppSim } from "./llamacpp/sim.js";
import { ollamaSim } from "./ollama/sim.js";
import { tgiSim } from "./tgi/sim.js";
import { tritonSim } from "./triton/sim.js";
import { vllmSim } from "./vllm/sim.js";

const FLAVOURS: Partial<Record<EngineId, SimFlavourFacts>> = {
  vllm: vllmSim,
  tgi: tgiSim,
  ollama: ollamaSim,
  triton: tritonSim,
  llamacpp: llamacppSim,
};

/** Engines `inferplane sim` (and `up`, for engines that do not run here) can simulate. */
export const SIM_ENGINES: readonly EngineId[] = ENGINE_IDS.filter((id) => FLAVOURS[id] !== undefined);

/** The simulator flavour of `engine`, `undefined` when it has none. */
export function simFlavourFacts(engine: string): SimFlavourFacts | undefined {
  return FLAVOURS[engine as EngineId];
}
