/**
 * V8's sampling CPU profiler inside the current process, for a window another process chooses:
 * the first SIGUSR2 starts it, the second stops it, writes the `.cpuprofile` (Chrome DevTools
 * format) to `outFile` and exits the process.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";

export async function installUsr2Profiler(outFile: string, intervalUs = 250): Promise<void> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: intervalUs });
  let state: "idle" | "profiling" | "stopping" = "idle";
  process.on("SIGUSR2", () => {
    if (state === "idle") {
      state = "profiling";
      void session.post("Profiler.start");
    } else if (state === "profiling") {
      state = "stopping";
      void session.post("Profiler.stop").then(({ profile }) => {
        writeFileSync(outFile, JSON.stringify(profile));
        process.exit(0);
      });
    }
  });
}
