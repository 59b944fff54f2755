// One real service for every test of a file: started on first use, stopped after the file. Each
// test still asks through requireService, so a service that cannot start skips the test, or fails
// it with CI=true.
import { after, type TestContext } from "node:test";
import { requireService, type Service } from "../services/harness.js";

export function sharedService<S extends Service>(name: string, start: () => Promise<S>) {
  let started: Promise<S> | undefined;
  after(async () => {
    const s = await started?.catch(() => undefined);
    await s?.stop();
  });
  return async (t: TestContext): Promise<S | undefined> => {
    started ??= start();
    // Handed over without stop(): requireService stops what it gets when the test ends.
    const got = await requireService(t, name, async () => ({ svc: await (started as Promise<S>) }));
    return got?.svc;
  };
}
