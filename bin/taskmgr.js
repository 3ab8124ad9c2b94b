#!/usr/bin/env node
// Runs the taskmgr command line (cli/main.ts) on the Bun installed in this checkout's
// node_modules (from the npm package "bun"), so `npx taskmgr …` needs only Node.js and npm.
// Arguments, standard streams, signals and the exit status are passed through.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The Bun binary of the npm package "bun" (named bun.exe on every platform), or null. */
function findBun() {
  try {
    const require = createRequire(join(root, "package.json"));
    const bin = join(dirname(require.resolve("bun/package.json")), "bin", "bun.exe");
    if (existsSync(bin)) return bin;
  } catch {}
  return null;
}

const bun = findBun();
if (!bun) {
  process.stderr.write("error: Bun is not installed in this checkout: run `npm install` first\n");
  process.exit(1);
}

// --no-env-file: taskmgr reads `.env` itself (cli/env-file.ts), not Bun's set of files.
// --config: this checkout's bunfig.toml, not the one Bun would read from the working folder (whose
// `preload` would run its code inside taskmgr), as the binary reads none.
const child = spawn(bun, ["--no-env-file", `--config=${join(root, "bunfig.toml")}`, join(root, "cli", "main.ts"), ...process.argv.slice(2)], { stdio: "inherit" });
const forward = (signal) => () => child.kill(signal);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, forward(signal));
child.on("error", (err) => {
  process.stderr.write(`error: cannot run ${bun}: ${err.message}\n`);
  process.exit(1);
});
child.on("exit", (code, signal) => {
  if (signal) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  } else process.exit(code ?? 1);
});
