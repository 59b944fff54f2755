// Runs the CLI from source (no build needed): `node --import tsx cli-process.ts serve -c …`.
import { main } from "../../../src/cli/main.js";

main(["node", "inferplane", ...process.argv.slice(2)]).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
