// Headless Chromium (Debian `chromium`) driven by playwright-core through `executablePath`:
// playwright's own browser downloads are not used, so CI needs only install.sh's apt package.
import { type Browser, chromium } from "playwright-core";
import { ensureBinary } from "./harness.js";

export interface ChromiumService {
  readonly name: "chromium";
  readonly browser: Browser;
  readonly executablePath: string;
  stop(): Promise<void>;
}

export async function startChromium(): Promise<ChromiumService> {
  const executablePath = await ensureBinary("chromium", "chromium");
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    timeout: 60_000,
    // --no-sandbox: CI containers run as root, where Chromium's sandbox refuses to start.
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  let stopped = false;
  return {
    name: "chromium",
    browser,
    executablePath,
    async stop() {
      if (stopped) return;
      stopped = true;
      await browser.close();
    },
  };
}
