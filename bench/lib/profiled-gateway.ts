/**
 * `inferplane serve` (dist/cli/serve.js, the code the CLI runs) under V8's sampling CPU profiler,
 * for a window the caller chooses: the first SIGUSR2 starts the profiler, the second stops it,
 * writes the `.cpuprofile` and exits (see usr2-profiler.ts). (`node --cpu-prof` would need the
 * gateway to exit by itself, which `serve` does not do promptly after SIGTERM.)
 *
 *   node --import tsx bench/lib/profiled-gateway.ts SPEC PORT OUT.cpuprofile [INTERVAL_US]
 */
import { pathToFileURL } from "node:url";
import { ROOT } from "./procs.js";
import { installUsr2Profiler } from "./usr2-profiler.js";

interface ServeModule {
  serveCommand(
    o: { config: string; port: string },
    io: { out(s: string): void; err(s: string): void; isTTY: boolean },
  ): Promise<number>;
}

const [specFile, port, outFile, interval] = process.argv.slice(2);
if (!specFile || !port || !outFile) {
  process.stderr.write("usage: profiled-gateway.ts SPEC PORT OUT.cpuprofile [INTERVAL_US]\n");
  process.exit(2);
}
await installUsr2Profiler(outFile, Number(interval ?? 250));
const mod = (await import(pathToFileURL(`${ROOT}dist/cli/serve.js`).href)) as ServeModule;
void mod.serveCommand(
  { config: specFile, port },
  {
    out: (s) => process.stdout.write(`${s}\n`),
    err: (s) => process.stderr.write(`${s}\n`),
    isTTY: false,
  },
);
