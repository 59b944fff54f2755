// The chat-surface checks with the official openai SDK (tools required and named, .parse with a
// zod schema, n: 2, logprobs, a refused temperature), each a named function of (client, model),
// so the same assertions run through the gateway to Inferplane's simulator and to
// llm-d-inference-sim (which runs only the features it supports; see the test files).
import assert from "node:assert/strict";
import { Ajv } from "ajv";
import OpenAI from "openai";
import { zodResponseFormat } from "openai/helpers/zod";
import { z } from "zod";

export interface SdkCheck {
  name: string;
  run(client: OpenAI, model: string): Promise<void>;
}

const WEATHER = {
  type: "object",
  properties: { city: { type: "string" }, unit: { type: "string", enum: ["C", "F"] } },
  required: ["city", "unit"],
  additionalProperties: false,
};
const tools: OpenAI.ChatCompletionTool[] = [
  {
    type: "function",
    function: { name: "get_weather", description: "Weather in a city", parameters: WEATHER },
  },
];
const ajv = new Ajv({ strict: false });
const validWeather = ajv.compile(WEATHER);
const user = [{ role: "user" as const, content: "What's the weather in Oslo?" }];

function assertWeatherArgs(args: string): void {
  const v = JSON.parse(args) as unknown;
  assert.ok(validWeather(v), `${args}: ${ajv.errorsText(validWeather.errors)}`);
}

export const toolsRequired: SdkCheck = {
  name: "tool_choice required: tool calls whose arguments validate",
  async run(client, model) {
    const res = await client.chat.completions.create({
      model,
      messages: user,
      tools,
      tool_choice: "required",
    });
    const calls = res.choices[0]?.message.tool_calls ?? [];
    assert.ok(calls.length >= 1);
    for (const c of calls) {
      assert.ok(c.type === "function");
      assert.equal(c.function.name, "get_weather");
      assert.ok(c.id.length > 0);
      assertWeatherArgs(c.function.arguments);
    }
  },
};

export const toolsNamed: SdkCheck = {
  name: "a named function, plain and streamed: one call, valid arguments",
  async run(client, model) {
    const tool_choice = { type: "function" as const, function: { name: "get_weather" } };
    const res = await client.chat.completions.create({ model, messages: user, tools, tool_choice });
    const calls = res.choices[0]?.message.tool_calls ?? [];
    assert.equal(calls.length, 1);
    const call = calls[0];
    assert.ok(call?.type === "function");
    assert.equal(call.function.name, "get_weather");
    assertWeatherArgs(call.function.arguments);
    const stream = await client.chat.completions.create({
      model,
      messages: user,
      tools,
      tool_choice,
      stream: true,
    });
    let args = "";
    let name = "";
    for await (const chunk of stream)
      for (const tc of chunk.choices[0]?.delta.tool_calls ?? []) {
        name ||= tc.function?.name ?? "";
        args += tc.function?.arguments ?? "";
      }
    assert.equal(name, "get_weather");
    assertWeatherArgs(args);
  },
};

export const parseWithSchema: SdkCheck = {
  name: "chat.completions.parse with a zod schema: a parsed object that validates",
  async run(client, model) {
    const Review = z.object({
      title: z.string(),
      stars: z.number().int().min(1).max(5),
      tags: z.array(z.string()),
      verdict: z.enum(["buy", "skip"]),
      note: z.string().nullable(),
    });
    const res = await client.chat.completions.parse({
      model,
      messages: [{ role: "user", content: "Review this GPU." }],
      response_format: zodResponseFormat(Review, "review"),
    });
    const parsed = res.choices[0]?.message.parsed;
    assert.ok(parsed !== null && parsed !== undefined);
    assert.deepEqual(Review.parse(parsed), parsed);
  },
};

export const twoChoices: SdkCheck = {
  name: "n: 2: two choices, indexed 0 and 1",
  async run(client, model) {
    const res = await client.chat.completions.create({ model, messages: user, n: 2, max_tokens: 8 });
    assert.deepEqual(
      res.choices.map((c) => c.index),
      [0, 1],
    );
    for (const c of res.choices) assert.ok((c.message.content ?? "").length > 0);
  },
};

export const logprobs: SdkCheck = {
  name: "logprobs with top_logprobs: an entry per token with the top alternatives",
  async run(client, model) {
    const res = await client.chat.completions.create({
      model,
      messages: user,
      max_tokens: 5,
      logprobs: true,
      top_logprobs: 2,
    });
    const content = res.choices[0]?.logprobs?.content ?? [];
    assert.ok(content.length > 0);
    assert.equal(content.map((c) => c.token).join(""), res.choices[0]?.message.content);
    for (const c of content) {
      assert.ok(c.logprob <= 0);
      assert.equal(c.top_logprobs.length, 2);
    }
  },
};

export const negativeTemperature: SdkCheck = {
  name: "temperature: -1 is refused with 400 and param temperature",
  async run(client, model) {
    await assert.rejects(
      client.chat.completions.create({ model, messages: user, temperature: -1 }),
      (err: unknown) => err instanceof OpenAI.BadRequestError && err.param === "temperature",
    );
  },
};

export const ALL_CHECKS: SdkCheck[] = [
  toolsRequired,
  toolsNamed,
  parseWithSchema,
  twoChoices,
  logprobs,
  negativeTemperature,
];
