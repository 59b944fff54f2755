// The Responses and Messages doors on Inferplane's simulator, driven by the official openai and
// @anthropic-ai/sdk clients (door host from doors-harness.ts: translation only, no gateway).
import { after, before, describe, it } from "node:test";
import { messagesDoor } from "../../../src/gateway/api/messages.js";
import { responsesDoor } from "../../../src/gateway/api/responses.js";
import { type SimServerHandle, startSimServer } from "../../../src/sim/server.js";
import { type DoorHost, messagesChecks, mountDoors, responsesChecks } from "./doors-harness.js";

describe("doors on the simulator, through the official SDKs", () => {
  let sim: SimServerHandle;
  let host: DoorHost;
  before(async () => {
    sim = await startSimServer({ model: "llama-3.1-8b", speed: 50, outputLenMean: 12 });
    host = await mountDoors([responsesDoor(), messagesDoor()], sim.url, sim.servedModelName);
  });
  after(async () => {
    await host?.close();
    await sim?.stop();
  });
  for (const check of [...responsesChecks, ...messagesChecks])
    it(check.name, () => check.run(host.url, "assistant"));
});
