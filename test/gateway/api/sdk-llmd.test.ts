// The same chat-surface checks through the gateway to llm-d-inference-sim (v0.10.2), for the
// features it supports: tool_choice required and named, n, logprobs. It does not constrain
// output to a JSON schema (it echoes or babbles: .parse gets no object) and accepts
// temperature -1, so those two checks run against Inferplane's simulator only (sdk-sim.test.ts).
import { after, describe, it } from "node:test";
import OpenAI from "openai";
import { type GatewayHandle, startGateway } from "../../../src/gateway/server.js";
import { parseSpec } from "../../../src/spec/load.js";
import { requireService } from "../../services/harness.js";
import { startLlmdSim } from "../../services/llmd-sim.js";
import { logprobs, toolsNamed, toolsRequired, twoChoices } from "./sdk-checks.js";

describe("gateway → llm-d-inference-sim: tools, n, logprobs (openai SDK)", () => {
  let gw: GatewayHandle | undefined;
  after(async () => {
    await gw?.close();
  });
  it("runs the checks llm-d-inference-sim supports", async (t) => {
    const sim = await requireService(t, "llm-d-inference-sim", () =>
      startLlmdSim({
        model: "meta-llama/Llama-3.1-8B-Instruct",
        timeToFirstToken: "2ms",
        interTokenLatency: "1ms",
      }),
    );
    if (!sim) return;
    const { platform } = parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models:
  - name: llama
    source: hf://meta-llama/Llama-3.1-8B-Instruct
    endpoints: ["${sim.url}"]
routes:
  - name: chat
    targets: [{model: llama}]
`);
    gw = await startGateway(platform, { host: "127.0.0.1", port: 0, log: () => {} });
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused", maxRetries: 0 });
    for (const check of [toolsRequired, toolsNamed, twoChoices, logprobs])
      await t.test(check.name, () => check.run(client, "chat"));
  });
});
