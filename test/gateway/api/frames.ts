// Parses the SSE frames a door stream returns into {event, data} pairs.
export interface Frame {
  event: string;
  data: Record<string, unknown>;
}

export function parseFrames(frames: readonly string[]): Frame[] {
  return frames.map((f) => {
    const m = /^event: ([^\n]+)\ndata: (.*)\n\n$/s.exec(f);
    if (m === null) throw new Error(`not an SSE frame: ${JSON.stringify(f)}`);
    return { event: m[1] as string, data: JSON.parse(m[2] as string) as Record<string, unknown> };
  });
}

/** vLLM-shaped chat chunks for a stream translator. */
export const chunk = {
  role: () => ({ choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] }),
  text: (content: string, finish: string | null = null, stop: string | null = null) => ({
    choices: [{ index: 0, delta: { content }, finish_reason: finish, stop_reason: stop }],
  }),
  toolStart: (index: number, id: string, name: string, args: string) => ({
    choices: [
      {
        index: 0,
        delta: { tool_calls: [{ index, id, type: "function", function: { name, arguments: args } }] },
        finish_reason: null,
      },
    ],
  }),
  toolArgs: (index: number, args: string, finish: string | null = null) => ({
    choices: [
      { index: 0, delta: { tool_calls: [{ index, function: { arguments: args } }] }, finish_reason: finish },
    ],
  }),
  usage: (prompt: number, completion: number, cached = 0) => ({
    choices: [],
    usage: {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
      prompt_tokens_details: { cached_tokens: cached },
    },
  }),
};

/** Frame `i`, failing the test when there is none. */
export function nth(frames: readonly Frame[], i: number): Frame {
  const f = frames[i];
  if (f === undefined) throw new Error(`no frame #${i} (of ${frames.length})`);
  return f;
}
