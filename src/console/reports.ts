// The spec view (the spec in force, redacted, and the last rejected reload) and the plan and
// bench view: the planner's page for the running spec in a frame, the sweep chart as an image.
// Both documents come from short-lived links the admin token mints (/console/api/reports).
import type { ConsoleState } from "../gateway/console/source.js";
import { $, call, errorText, h, table } from "./dom.js";
import { specLine } from "./live.js";

export async function loadSpec(state: ConsoleState | undefined) {
  if (state) $("spec-summary").textContent = specLine(state);
  const rej = state?.spec.lastRejectedReload;
  $("spec-rejected").replaceChildren(
    ...(rej
      ? [
          h("h3", {}, `Last rejected reload, ${new Date(rej.at).toLocaleString()}`),
          h("pre", { id: "rejected-error" }, rej.error),
        ]
      : []),
  );
  try {
    const r = (await call("/console/api/spec")) as { spec: unknown };
    $("spec-doc").textContent = JSON.stringify(r.spec, null, 2);
  } catch (err) {
    $("spec-doc").textContent = `Spec: ${errorText(err)}`;
  }
}

interface Reports {
  plan: { url: string };
  bench:
    | { missing: string }
    | {
        file: string;
        startedAt: string;
        workload: string;
        header: string[];
        rows: string[][];
        chart: string;
      };
}

export async function loadReports() {
  const out = $("reports-out");
  try {
    const r = (await call("/console/api/reports")) as Reports;
    const bench = r.bench;
    out.replaceChildren(
      h("h3", {}, "Plan for the spec in force"),
      h("iframe", { src: r.plan.url, title: "Capacity plan (plan --html)", sandbox: "", class: "plan" }),
      h("p", {}, h("a", { href: r.plan.url, target: "_blank", rel: "noopener" }, "Open the plan on its own")),
      h("h3", {}, "Bench sweep"),
      ...("missing" in bench
        ? [h("p", { id: "bench-missing" }, bench.missing)]
        : [
            h(
              "p",
              { class: "meta" },
              `${bench.file} · ${new Date(bench.startedAt).toLocaleString()} · ${bench.workload}`,
            ),
            h("img", {
              src: bench.chart,
              alt: "Latency against throughput: TTFT and TPOT p50 and p99 at each offered load",
              class: "bench",
            }),
            table("Sweep points", bench.header, bench.rows),
          ]),
    );
  } catch (err) {
    out.replaceChildren(h("p", {}, `Reports: ${errorText(err)}`));
  }
}
