import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parsePrometheusText } from "../../src/engines/prometheus-text.js";
import { TGI_3, TRITON_TRTLLM, VLLM_0_8, VLLM_0_12_DP2 } from "./fixtures.js";

describe("Prometheus text parser", () => {
  it("reads names, labels and values; skips comments, blank lines and timestamps", () => {
    const text = [
      "# HELP up Whether up.",
      "# TYPE up gauge",
      "",
      "up 1",
      'http_requests_total{method="post",code="200"} 1027 1395066363000',
      "  indented_metric   2.5e3  ",
      "no_labels_empty_braces{} -3",
    ].join("\n");
    assert.deepEqual(parsePrometheusText(text), [
      { name: "up", labels: {}, value: 1 },
      { name: "http_requests_total", labels: { method: "post", code: "200" }, value: 1027 },
      { name: "indented_metric", labels: {}, value: 2500 },
      { name: "no_labels_empty_braces", labels: {}, value: -3 },
    ]);
  });

  it("handles escapes and separators inside label values", () => {
    const text = 'm{path="C:\\\\dir\\\\file",msg="say \\"hi\\"\\nbye",odd="a,b}c"} 7\n';
    assert.deepEqual(parsePrometheusText(text), [
      { name: "m", labels: { path: "C:\\dir\\file", msg: 'say "hi"\nbye', odd: "a,b}c" }, value: 7 },
    ]);
  });

  it("reads special values and a trailing comma in the label set", () => {
    const text = 'a NaN\nb +Inf\nc -Inf\nd{x="1",} 4\n';
    const s = parsePrometheusText(text);
    assert.ok(Number.isNaN(s[0]?.value));
    assert.equal(s[1]?.value, Number.POSITIVE_INFINITY);
    assert.equal(s[2]?.value, Number.NEGATIVE_INFINITY);
    assert.deepEqual(s[3], { name: "d", labels: { x: "1" }, value: 4 });
  });

  it("reads CRLF line endings and OpenMetrics exemplars and # EOF", () => {
    const text = 'a 1\r\nb_total{x="y"} 2 # {trace_id="abc"} 1.0 1600000000\r\n# EOF\r\n';
    assert.deepEqual(parsePrometheusText(text), [
      { name: "a", labels: {}, value: 1 },
      { name: "b_total", labels: { x: "y" }, value: 2 },
    ]);
  });

  it("skips malformed lines instead of failing", () => {
    const text = 'good 1\nbad{x="unterminated} 2\nnovalue\nbad2{x=1} 3\nworse 12abc\nalso_good 4\n';
    assert.deepEqual(
      parsePrometheusText(text).map((s) => s.name),
      ["good", "also_good"],
    );
  });

  it("with a name filter returns only those series (histogram buckets skipped)", () => {
    const names = new Set(["vllm:num_requests_running"]);
    const s = parsePrometheusText(VLLM_0_12_DP2, { names });
    assert.equal(s.length, 2);
    assert.ok(s.every((x) => x.name === "vllm:num_requests_running"));
    const all = parsePrometheusText(VLLM_0_12_DP2);
    assert.ok(all.some((x) => x.name === "vllm:time_to_first_token_seconds_bucket"));
  });

  it("the name-filtered search finds exactly what a full parse finds", () => {
    const tricky = [
      "# HELP x_total x_total appears in comments too",
      "x_total 1",
      "x_total_created 2",
      '  x_total{a="x_total 9"} 3',
      "prefix_x_total 4",
      'x_total{a="b"} 5',
      "x_total",
      "x_total\t6",
    ].join("\n");
    for (const text of [tricky, VLLM_0_8, VLLM_0_12_DP2, TGI_3, TRITON_TRTLLM]) {
      const all = parsePrometheusText(text);
      for (const name of new Set(all.map((x) => x.name))) {
        const byName = all.filter((x) => x.name === name);
        assert.deepEqual(parsePrometheusText(text, { names: new Set([name]) }), byName, name);
      }
    }
    assert.deepEqual(
      parsePrometheusText(tricky, { names: new Set(["x_total"]) }).map((x) => x.value),
      [1, 3, 5, 6],
    );
  });

  it("filters a large (1,000+ line) exposition by name", () => {
    const big = Array.from({ length: 30 }, () => VLLM_0_12_DP2).join("\n");
    const lines = big.split("\n").length;
    assert.ok(lines > 1000, `${lines} lines`);
    const names = new Set([
      "vllm:num_requests_running",
      "vllm:num_requests_waiting",
      "vllm:kv_cache_usage_perc",
    ]);
    // Speed is a benchmark concern; here: the name-filtered parse of a large text finds exactly the wanted series.
    const samples = parsePrometheusText(big, { names });
    assert.ok(samples.length > 0);
    assert.ok(samples.every((x) => names.has(x.name)));
  });
});
