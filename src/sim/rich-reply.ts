/**
 * One chat or completions reply of n choices, each choice a request of its own to the engine
 * (as vLLM fans a request with n > 1 out to n sequences that share the prompt's KV blocks), its
 * tokens written in vLLM's chunk shapes with tool-call deltas, logprobs and continuous usage
 * (src/sim/structured.ts decides what each choice says). The plain single-choice path stays in
 * src/sim/server.ts (`Generation`), which this mirrors for metrics and disconnects.
 */
import type { ServerResponse } from "node:http";
import type { SimMetrics } from "./metrics.js";
import type { RequestListener } from "./realtime.js";
import {
  type ChoiceContent,
  chatLogprob,
  completionLogprobs,
  type RichSpec,
  type ToolCallPlan,
} from "./structured.js";
import { pseudoToken } from "./text.js";

/** One choice's engine job, as src/sim/server.ts plans it. */
export interface ChoiceJob {
  id: string;
  promptIds: number[];
  outputTokens: number;
  finishReason: "stop" | "length";
  textSeed: number;
  texts: string[] | null;
  /** JSON of vLLM's `stop_reason`. */
  stopReason: string;
  cutAt: number;
}

export interface RichContext {
  metrics: SimMetrics;
  abort(id: string): void;
  now(): number;
  res: ServerResponse;
  jsonHeaders: Readonly<Record<string, string>>;
  sseHeaders: Readonly<Record<string, string>>;
  model: string;
  created: number;
  /** chatcmpl-… or cmpl-… */
  id: string;
  stream: boolean;
  includeUsage: boolean;
  spec: RichSpec;
}

class Choice {
  scheduled: number | undefined;
  first: number | undefined;
  last = 0;
  generated = 0;
  done = false;
  /** Characters of text written so far (completions `text_offset`). */
  offset = 0;
  constructor(
    readonly index: number,
    readonly job: ChoiceJob,
    readonly content: ChoiceContent,
  ) {}
  text(t: number): string {
    return this.job.texts !== null ? (this.job.texts[t] ?? "") : pseudoToken(this.job.textSeed, t);
  }
  /** The tool call token `t` belongs to, and whether it starts it. */
  callAt(t: number): { k: number; call: ToolCallPlan } | null {
    const calls = this.content.calls;
    if (calls === null) return null;
    for (let k = calls.length - 1; k >= 0; k--)
      if ((calls[k] as ToolCallPlan).start <= t) return { k, call: calls[k] as ToolCallPlan };
    return null;
  }
}

export class RichReply {
  private readonly choices: Choice[];
  private cached = 0;
  private finished = 0;
  private closed = false;

  constructor(
    private readonly ctx: RichContext,
    jobs: readonly ChoiceJob[],
    contents: readonly ChoiceContent[],
    private readonly arrival: number,
  ) {
    this.choices = jobs.map((j, i) => new Choice(i, j, contents[i] as ChoiceContent));
    ctx.res.once("close", this.onClose);
  }

  get promptTokens(): number {
    return this.choices[0]?.job.promptIds.length ?? 0;
  }

  /** The engine listener of choice `i`. */
  listener(i: number): RequestListener {
    const c = this.choices[i] as Choice;
    return {
      onScheduled: (time, cachedTokens) => {
        if (c.scheduled === undefined) c.scheduled = time;
        if (i === 0) this.cached = cachedTokens;
      },
      onToken: (index, time) => this.onToken(c, index, time),
      onFinished: (time) => this.onFinished(c, time),
    };
  }

  /** Status line, headers and each choice's role chunk of a streamed reply. */
  startStream(): void {
    const res = this.ctx.res;
    res.writeHead(200, this.ctx.sseHeaders);
    if (this.ctx.spec.chat) {
      let head = "";
      for (const c of this.choices)
        head += this.frame(
          { index: c.index, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null },
          c,
        );
      res.write(head);
    } else res.flushHeaders();
  }

  private usage(completion: number): Record<string, unknown> {
    const p = this.promptTokens;
    return {
      prompt_tokens: p,
      total_tokens: p + completion,
      completion_tokens: completion,
      prompt_tokens_details: { cached_tokens: this.cached },
    };
  }

  private frame(choice: Record<string, unknown>, c: Choice): string {
    const object = this.ctx.spec.chat ? "chat.completion.chunk" : "text_completion";
    const chunk: Record<string, unknown> = {
      id: this.ctx.id,
      object,
      created: this.ctx.created,
      model: this.ctx.model,
      choices: [choice],
    };
    if (this.ctx.spec.continuousUsage) {
      const u = this.usage(c.generated);
      delete u.prompt_tokens_details;
      chunk.usage = u;
    }
    return `data: ${JSON.stringify(chunk)}\n\n`;
  }

  private finishReason(c: Choice): string {
    const out = this.ctx.spec.output;
    const auto = out.kind === "tools" && out.choice === "auto";
    return auto && c.job.finishReason === "stop" ? "tool_calls" : c.job.finishReason;
  }

  private onToken(c: Choice, index: number, time: number): void {
    const m = this.ctx.metrics;
    if (index === 0) c.first = time;
    else if (m.itlPerToken) m.tokenGap(time - c.last);
    c.last = time;
    c.generated = index + 1;
    const res = this.ctx.res;
    if (this.ctx.stream && !res.destroyed && !this.closed) res.write(this.tokenFrame(c, index));
    if (c.index === 0 && index === c.job.cutAt) this.cut(time);
  }

  private tokenFrame(c: Choice, index: number): string {
    const spec = this.ctx.spec;
    const piece = c.text(index);
    const last = index === c.job.outputTokens - 1;
    const choice: Record<string, unknown> = { index: c.index };
    if (spec.chat) {
      const at = c.callAt(index);
      if (at === null) choice.delta = { content: piece };
      else if (at.call.start === index)
        choice.delta = {
          tool_calls: [
            {
              id: at.call.id,
              type: "function",
              index: at.k,
              function: { name: at.call.name, arguments: piece },
            },
          ],
        };
      else choice.delta = { tool_calls: [{ index: at.k, function: { arguments: piece } }] };
      choice.logprobs =
        spec.logprobs === null
          ? null
          : { content: [chatLogprob(c.job.textSeed, index, piece, spec.logprobs)] };
    } else {
      choice.text = piece;
      choice.logprobs =
        spec.logprobs === null
          ? null
          : completionLogprobs(c.job.textSeed, index, [piece], spec.logprobs, c.offset);
      c.offset += piece.length;
    }
    choice.finish_reason = last ? this.finishReason(c) : null;
    choice.stop_reason = last ? (JSON.parse(c.job.stopReason) as string | null) : null;
    return this.frame(choice, c);
  }

  private onFinished(c: Choice, time: number): void {
    if (c.done) return;
    c.done = true;
    this.record(c, "length", time);
    this.finished++;
    if (this.finished < this.choices.length || this.closed) return;
    this.closed = true;
    const res = this.ctx.res;
    if (res.destroyed) return;
    if (this.ctx.stream) {
      let tail = "";
      if (this.ctx.includeUsage) {
        const total = this.choices.reduce((s, x) => s + x.generated, 0);
        const chunk = {
          id: this.ctx.id,
          object: this.ctx.spec.chat ? "chat.completion.chunk" : "text_completion",
          created: this.ctx.created,
          model: this.ctx.model,
          choices: [],
          usage: this.usage(total),
        };
        tail = `data: ${JSON.stringify(chunk)}\n\n`;
      }
      res.end(`${tail}data: [DONE]\n\n`);
    } else {
      res.writeHead(200, this.ctx.jsonHeaders);
      res.end(JSON.stringify(this.body()));
    }
  }

  /** The non-streaming response body. */
  body(): unknown {
    const spec = this.ctx.spec;
    const total = this.choices.reduce((s, x) => s + x.generated, 0);
    const choices = this.choices.map((c) => {
      const pieces = Array.from({ length: c.generated }, (_, t) => c.text(t));
      const stopReason = JSON.parse(c.job.stopReason) as string | null;
      if (!spec.chat)
        return {
          index: c.index,
          text: pieces.join(""),
          logprobs:
            spec.logprobs === null ? null : completionLogprobs(c.job.textSeed, 0, pieces, spec.logprobs, 0),
          finish_reason: this.finishReason(c),
          stop_reason: stopReason,
        };
      const calls = c.content.calls;
      let message: Record<string, unknown>;
      if (calls === null) message = { role: "assistant", content: pieces.join(""), tool_calls: [] };
      else {
        const toolCalls = calls
          .filter((call) => call.start < c.generated)
          .map((call, k) => {
            const end = calls[k + 1]?.start ?? c.generated;
            return {
              id: call.id,
              type: "function",
              function: {
                name: call.name,
                arguments: pieces.slice(call.start, Math.min(end, c.generated)).join(""),
              },
            };
          });
        const out = spec.output;
        // vLLM: content "" for required / named tool choice, none for an auto tool call.
        message = {
          role: "assistant",
          content: out.kind === "tools" && out.choice === "auto" ? null : "",
          tool_calls: toolCalls,
        };
      }
      return {
        index: c.index,
        message,
        logprobs:
          spec.logprobs === null
            ? null
            : { content: pieces.map((p, t) => chatLogprob(c.job.textSeed, t, p, spec.logprobs as number)) },
        finish_reason: this.finishReason(c),
        stop_reason: stopReason,
      };
    });
    return {
      id: this.ctx.id,
      object: spec.chat ? "chat.completion" : "text_completion",
      created: this.ctx.created,
      model: this.ctx.model,
      choices,
      usage: this.usage(total),
      ...(spec.chat ? { prompt_logprobs: null } : {}),
    };
  }

  private record(c: Choice, reason: "length" | "abort", end: number): void {
    this.ctx.metrics.finished({
      reason: reason === "abort" ? "abort" : c.job.finishReason,
      arrival: this.arrival,
      scheduled: c.scheduled,
      firstToken: c.first,
      end,
      promptTokens: c.job.promptIds.length,
      outputTokens: c.generated,
    });
  }

  private abortRest(time: number): void {
    for (const c of this.choices) {
      if (c.done) continue;
      c.done = true;
      this.ctx.abort(c.job.id);
      this.record(c, "abort", time);
    }
  }

  /** `cut` fault: drop the connection mid-reply. */
  private cut(time: number): void {
    this.closed = true;
    this.abortRest(time);
    this.ctx.res.destroy();
  }

  /** The engine refused a choice: the reply is an error, nothing here is recorded or written. */
  detach(): void {
    this.closed = true;
    for (const c of this.choices) c.done = true;
    this.ctx.res.off("close", this.onClose);
  }

  private readonly onClose = (): void => {
    if (this.closed && this.choices.every((c) => c.done)) return;
    this.closed = true;
    this.abortRest(this.ctx.now());
  };
}
