// The simulator speaks the API surface agents use, through the official openai SDK: tool calls
// (required, named, auto, parallel, streamed deltas), JSON mode and JSON schema (validated with
// ajv), n choices, logprobs, continuous usage stats, seeds, vLLM's 400s, token-id embeddings.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Ajv } from "ajv";
import OpenAI from "openai";
import { type SimServerHandle, startSimServer } from "../../src/sim/server.js";

const WEATHER = {
  type: "object",
  properties: {
    city: { type: "string", minLength: 2 },
    days: { type: "integer", minimum: 1, maximum: 7 },
    unit: { type: "string", enum: ["C", "F"] },
  },
  required: ["city", "unit"],
  additionalProperties: false,
};
const TIME = {
  type: "object",
  properties: { tz: { type: "string", enum: ["UTC", "CET"] } },
  required: ["tz"],
};
const tools: OpenAI.ChatCompletionTool[] = [
  { type: "function", function: { name: "get_weather", parameters: WEATHER } },
  { type: "function", function: { name: "get_time", parameters: TIME } },
];
const ajv = new Ajv({ strict: false });
const schemaOf: Record<string, object> = { get_weather: WEATHER, get_time: TIME };

function assertValid(schema: object, value: unknown): void {
  const validate = ajv.compile(schema);
  assert.ok(validate(value), `${JSON.stringify(value)}: ${ajv.errorsText(validate.errors)}`);
}

describe("sim: tools, structured output, n, logprobs", () => {
  let sim: SimServerHandle;
  let client: OpenAI;
  let model: string;
  const user = [{ role: "user" as const, content: "What's the weather in Paris?" }];

  before(async () => {
    sim = await startSimServer({ model: "llama-3.1-8b", speed: 50, outputLenMean: 12 });
    client = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: "unused", maxRetries: 0 });
    model = sim.servedModelName;
  });
  after(async () => {
    await sim?.stop();
  });

  it("tool_choice required with parallel calls: schema-valid arguments, finish_reason stop", async () => {
    const res = await client.chat.completions.create({
      model,
      messages: user,
      tools,
      tool_choice: "required",
      seed: 5,
    });
    const choice = res.choices[0];
    const calls = choice?.message.tool_calls ?? [];
    assert.equal(calls.length, 2, "parallel_tool_calls defaults to true: both tools called");
    assert.deepEqual(calls.map((c) => (c.type === "function" ? c.function.name : "")).sort(), [
      "get_time",
      "get_weather",
    ]);
    for (const c of calls) {
      assert.equal(c.type, "function");
      if (c.type !== "function") continue;
      assert.match(c.id, /^chatcmpl-tool-[0-9a-f]{32}$/);
      assertValid(schemaOf[c.function.name] as object, JSON.parse(c.function.arguments));
    }
    assert.equal(choice?.finish_reason, "stop");
    assert.ok((res.usage?.completion_tokens ?? 0) > 0);
  });

  it("parallel_tool_calls false: one call", async () => {
    const res = await client.chat.completions.create({
      model,
      messages: user,
      tools,
      tool_choice: "required",
      parallel_tool_calls: false,
    });
    assert.equal(res.choices[0]?.message.tool_calls?.length, 1);
  });

  it("a named function is called alone; streamed deltas reassemble to valid arguments", async () => {
    const stream = await client.chat.completions.create({
      model,
      messages: user,
      tools,
      tool_choice: { type: "function", function: { name: "get_weather" } },
      stream: true,
    });
    let args = "";
    let name = "";
    let headers = 0;
    let finish: string | null = null;
    for await (const chunk of stream) {
      const d = chunk.choices[0]?.delta;
      for (const tc of d?.tool_calls ?? []) {
        assert.equal(tc.index, 0);
        if (tc.id !== undefined) {
          headers++;
          name = tc.function?.name ?? "";
        }
        args += tc.function?.arguments ?? "";
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(headers, 1, "id, type and name come once, in the first delta of the call");
    assert.equal(name, "get_weather");
    assertValid(WEATHER, JSON.parse(args));
    assert.equal(finish, "stop");
  });

  it("the SDK's chat.completions.stream helper assembles parallel tool calls of n choices", async () => {
    const final = await client.chat.completions
      .stream({ model, messages: user, tools, tool_choice: "required", n: 2, seed: 11 })
      .finalChatCompletion();
    assert.equal(final.choices.length, 2);
    for (const choice of final.choices) {
      const calls = choice.message.tool_calls ?? [];
      assert.equal(calls.length, 2);
      for (const c of calls) {
        assert.ok(c.type === "function");
        assertValid(schemaOf[c.function.name] as object, JSON.parse(c.function.arguments));
      }
    }
  });

  it("auto calls a tool, then answers in text once the tool result is in", async () => {
    const first = await client.chat.completions.create({
      model,
      messages: user,
      tools,
      parallel_tool_calls: false,
    });
    const call = first.choices[0]?.message.tool_calls?.[0];
    assert.ok(call !== undefined && call.type === "function");
    assert.equal(first.choices[0]?.finish_reason, "tool_calls");
    const second = await client.chat.completions.create({
      model,
      tools,
      messages: [
        ...user,
        { role: "assistant", content: null, tool_calls: [call] },
        { role: "tool", tool_call_id: call.id, content: '{"temp": 21}' },
      ],
    });
    assert.equal(second.choices[0]?.message.tool_calls?.length ?? 0, 0);
    assert.ok((second.choices[0]?.message.content ?? "").length > 0);
  });

  it("json_schema: chat.completions.parse gets a schema-valid object, the same for the same seed", async () => {
    const schema = {
      type: "object",
      properties: {
        title: { type: "string" },
        tags: { type: "array", items: { type: "string" }, minItems: 1 },
        score: { anyOf: [{ type: "number", minimum: 0, maximum: 1 }, { type: "null" }] },
        kind: { $ref: "#/$defs/kind" },
      },
      required: ["title", "tags", "score", "kind"],
      additionalProperties: false,
      $defs: { kind: { type: "string", enum: ["a", "b"] } },
    };
    const body = {
      model,
      messages: user,
      seed: 42,
      response_format: {
        type: "json_schema" as const,
        json_schema: { name: "review", schema, strict: true },
      },
    };
    const a = await client.chat.completions.parse(body);
    const b = await client.chat.completions.parse(body);
    assertValid(schema, a.choices[0]?.message.parsed);
    assert.deepEqual(a.choices[0]?.message.parsed, b.choices[0]?.message.parsed);
    assert.equal(a.choices[0]?.message.content, b.choices[0]?.message.content);
  });

  it("json_object: the content parses as a JSON object", async () => {
    const res = await client.chat.completions.create({
      model,
      messages: user,
      response_format: { type: "json_object" },
    });
    const v = JSON.parse(res.choices[0]?.message.content ?? "");
    assert.equal(typeof v, "object");
    assert.notEqual(v, null);
  });

  it("a schema reply cut by max_tokens ends with finish_reason length", async () => {
    const res = await client.chat.completions.create({
      model,
      messages: user,
      max_tokens: 2,
      response_format: { type: "json_schema", json_schema: { name: "x", schema: WEATHER } },
    });
    assert.equal(res.choices[0]?.finish_reason, "length");
    assert.equal(res.usage?.completion_tokens, 2);
  });

  it("n: 2 chat, non-streaming and streaming: an index per choice, usage summed", async () => {
    const res = await client.chat.completions.create({
      model,
      messages: user,
      n: 2,
      max_tokens: 5,
      ignore_eos: true,
    } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    assert.deepEqual(
      res.choices.map((c) => c.index),
      [0, 1],
    );
    assert.equal(res.usage?.completion_tokens, 10);
    const stream = await client.chat.completions.create({
      model,
      messages: user,
      n: 2,
      max_tokens: 4,
      stream: true,
      stream_options: { include_usage: true },
      ignore_eos: true,
    } as OpenAI.ChatCompletionCreateParamsStreaming);
    const text = ["", ""];
    const finishes: (string | null)[] = [null, null];
    let usage = 0;
    for await (const chunk of stream) {
      for (const c of chunk.choices) {
        text[c.index] += c.delta.content ?? "";
        if (c.finish_reason) finishes[c.index] = c.finish_reason;
      }
      if (chunk.usage) usage = chunk.usage.completion_tokens;
    }
    assert.ok((text[0] as string).length > 0 && (text[1] as string).length > 0);
    assert.deepEqual(finishes, ["length", "length"]);
    assert.equal(usage, 8);
  });

  it("n: 2 completions, streaming: text per index", async () => {
    const stream = await client.completions.create({
      model,
      prompt: "Once",
      n: 2,
      max_tokens: 3,
      stream: true,
      ignore_eos: true,
    } as OpenAI.CompletionCreateParamsStreaming);
    const seen = new Set<number>();
    for await (const chunk of stream) for (const c of chunk.choices) seen.add(c.index);
    assert.deepEqual([...seen].sort(), [0, 1]);
  });

  it("chat logprobs with top_logprobs: one entry per token, top list sorted, sampled token first", async () => {
    const res = await client.chat.completions.create({
      model,
      messages: user,
      max_tokens: 6,
      logprobs: true,
      top_logprobs: 3,
      ignore_eos: true,
    } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    const content = res.choices[0]?.logprobs?.content ?? [];
    assert.equal(content.length, 6);
    assert.equal(content.map((c) => c.token).join(""), res.choices[0]?.message.content);
    for (const c of content) {
      assert.ok(c.logprob <= 0);
      assert.equal(c.top_logprobs.length, 3);
      assert.equal(c.top_logprobs[0]?.token, c.token);
      const lps = c.top_logprobs.map((t) => t.logprob);
      assert.deepEqual(
        [...lps].sort((a, b) => b - a),
        lps,
      );
      assert.deepEqual(c.bytes, [...Buffer.from(c.token, "utf8")]);
    }
  });

  it("completions logprobs: tokens, offsets and top maps of vLLM's shape", async () => {
    const res = await client.completions.create({
      model,
      prompt: "Once",
      max_tokens: 4,
      logprobs: 2,
      ignore_eos: true,
    } as OpenAI.CompletionCreateParamsNonStreaming);
    const lp = res.choices[0]?.logprobs;
    assert.equal(lp?.tokens?.length, 4);
    assert.equal(lp?.tokens?.join(""), res.choices[0]?.text);
    assert.equal(lp?.text_offset?.[0], 0);
    assert.equal(lp?.text_offset?.[1], lp?.tokens?.[0]?.length);
    assert.equal(Object.keys(lp?.top_logprobs?.[0] ?? {}).length, 2);
  });

  it("continuous_usage_stats: every chunk carries the usage so far (include_usage on by default, as vLLM)", async () => {
    for (const options of [
      { include_usage: true, continuous_usage_stats: true },
      { continuous_usage_stats: true },
    ]) {
      const stream = await client.chat.completions.create({
        model,
        messages: user,
        max_tokens: 4,
        stream: true,
        ignore_eos: true,
        stream_options: options,
      } as OpenAI.ChatCompletionCreateParamsStreaming);
      const counts: number[] = [];
      for await (const chunk of stream) counts.push(chunk.usage?.completion_tokens ?? -1);
      assert.deepEqual(counts, [0, 1, 2, 3, 4, 4], JSON.stringify(options));
    }
    const off = await client.chat.completions.create({
      model,
      messages: user,
      max_tokens: 2,
      stream: true,
      stream_options: { include_usage: false, continuous_usage_stats: true },
    } as OpenAI.ChatCompletionCreateParamsStreaming);
    for await (const chunk of off) assert.equal(chunk.usage ?? undefined, undefined);
  });

  it("seed: the same text for the same seed, another for another", async () => {
    const ask = (seed: number) =>
      client.chat.completions.create({ model, messages: user, seed, max_tokens: 8 });
    const [a, b, c] = await Promise.all([ask(7), ask(7), ask(8)]);
    assert.equal(a.choices[0]?.message.content, b.choices[0]?.message.content);
    assert.notEqual(a.choices[0]?.message.content, c.choices[0]?.message.content);
  });

  it("refuses what vLLM refuses, with param", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ temperature: -1 }, "temperature"],
      [{ top_p: 0 }, "top_p"],
      [{ top_p: 1.5 }, "top_p"],
      [{ n: 0 }, "n"],
      [{ n: 2, temperature: 0 }, "n"],
      [{ top_logprobs: 2 }, "top_logprobs"],
      [{ logprobs: true, top_logprobs: 21 }, "top_logprobs"],
      [{ tool_choice: "required" }, "tool_choice"],
      [{ stream_options: { include_usage: true } }, "stream_options"],
    ];
    for (const [extra, param] of cases) {
      await assert.rejects(
        client.chat.completions.create({
          model,
          messages: user,
          ...extra,
        } as OpenAI.ChatCompletionCreateParamsNonStreaming),
        (err: unknown) => {
          assert.ok(err instanceof OpenAI.BadRequestError, JSON.stringify(extra));
          assert.equal(err.param, param, JSON.stringify(extra));
          return true;
        },
      );
    }
    await assert.rejects(
      client.completions.create({ model, prompt: "x", logprobs: 21 }),
      (err: unknown) => err instanceof OpenAI.BadRequestError && err.param === "logprobs",
    );
  });

  it("embeddings count token-id inputs as tokens, not digits", async () => {
    const one = await client.embeddings.create({ model, input: [123456, 7890, 42] as unknown as string });
    assert.equal(one.usage.prompt_tokens, 3);
    const two = await client.embeddings.create({
      model,
      input: [[123456, 7890], [1]] as unknown as string[],
    });
    assert.equal(two.usage.prompt_tokens, 3);
  });
});
