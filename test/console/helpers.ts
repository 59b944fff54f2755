// Shared by the console's browser tests: the build, screenshots and the contrast probe.
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";

/** Where the test run saves its screenshots (docs/console/ holds the copies the docs link). */
export const SHOTS = "tmp/console-screenshots";

/** Builds the console the way `npm run build` does (tests run from source). */
export function buildConsole() {
  execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "src/console/tsconfig.json"]);
  execFileSync(process.execPath, ["scripts/build-console.mjs"]);
}

/**
 * Lowest WCAG contrast ratio of visible text against its background, in `theme`. A string:
 * tsx's transform would wrap a function's helpers in names the page does not define.
 */
export function contrastScript(theme: string): string {
  return `(() => {
    document.documentElement.dataset.theme = ${JSON.stringify(theme)};
    const lum = (c) => {
      const [r, g, b] = (c.match(/[\\d.]+/g) || []).slice(0, 3).map((v) => {
        const x = Number(v) / 255;
        return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const bgOf = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const c = getComputedStyle(e).backgroundColor;
        if (c !== "rgba(0, 0, 0, 0)" && c !== "transparent") return c;
      }
      return "rgb(255, 255, 255)";
    };
    let min = 21;
    for (const el of document.querySelectorAll("h1, h2, h3, h4, p, td, th, button, dt, dd, label")) {
      if (!el.checkVisibility()) continue;
      const a = lum(getComputedStyle(el).color), b = lum(bgOf(el));
      min = Math.min(min, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05));
    }
    return min;
  })()`;
}

export async function shot(page: Page, name: string) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}
