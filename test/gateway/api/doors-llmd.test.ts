// The Responses and Messages doors in front of llm-d-inference-sim (v0.10.2), driven by the
// official SDKs (door host from doors-harness.ts). Every check but text.format json_schema, which
// llm-d-inference-sim does not honour (it answers free text).
import { after, describe, it } from "node:test";
import { messagesDoor } from "../../../src/gateway/api/messages.js";
import { responsesDoor } from "../../../src/gateway/api/responses.js";
import { requireService } from "../../services/harness.js";
import { startLlmdSim } from "../../services/llmd-sim.js";
import { type DoorHost, messagesChecks, mountDoors, responsesChecks } from "./doors-harness.js";

describe("doors on llm-d-inference-sim, through the official SDKs", () => {
  let host: DoorHost | undefined;
  after(async () => {
    await host?.close();
  });
  it("runs the door checks llm-d-inference-sim supports", async (t) => {
    const sim = await requireService(t, "llm-d-inference-sim", () =>
      startLlmdSim({
        model: "meta-llama/Llama-3.1-8B-Instruct",
        mode: "random",
        timeToFirstToken: "2ms",
        interTokenLatency: "1ms",
      }),
    );
    if (!sim) return;
    host = await mountDoors([responsesDoor(), messagesDoor()], sim.url, sim.model);
    const url = host.url;
    const checks = [...responsesChecks, ...messagesChecks].filter((c) => !c.name.includes("json_schema"));
    for (const check of checks) await t.test(check.name, () => check.run(url, "assistant"));
  });
});
