import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { copyFileSync, existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../package.json";
import { ROOT, removeTempDirs, serve, taskmgr, tempDir } from "../cli/support";

/**
 * The single executable: built once per run with package.json's own `build` script (or taken
 * from TASKMGR_BINARY), copied alone into an empty folder, and driven like an administrator would.
 */
setDefaultTimeout(60_000);
afterAll(removeTempDirs);

let binary = "";

beforeAll(async () => {
  binary = process.env.TASKMGR_BINARY ?? (await build());
}, 300_000);

/** Runs `npm run build`'s command on the Bun running the tests; prints how long it took. */
async function build(): Promise<string> {
  const [tool, ...args] = pkg.scripts.build.split(/\s+/);
  expect(tool).toBe("bun");
  const t0 = performance.now();
  const proc = Bun.spawn([process.execPath, ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`build failed (${code}):\n${out}\n${err}`);
  console.log(`binary: built dist/taskmgr in ${Math.round(performance.now() - t0)} ms`);
  return join(ROOT, "dist", "taskmgr");
}

describe("dist/taskmgr alone in an empty folder", () => {
  const dir = tempDir("taskmgr-binary-");
  const cli = () => [join(dir, "taskmgr")];
  const run = (args: string[], stdin?: string) => taskmgr(args, { cwd: dir, cli: cli(), stdin });

  test("runs without anything beside it", async () => {
    copyFileSync(binary, join(dir, "taskmgr"));
    expect(readdirSync(dir)).toEqual(["taskmgr"]);
    expect(await run(["--version"])).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: "" });
  });

  test("migrate, orgs create, users create (password on stdin)", async () => {
    const migrated = await run(["migrate"]);
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).toContain("applied 0001_initial");
    expect(existsSync(join(dir, "data", "taskmgr.db"))).toBe(true);

    expect((await run(["orgs", "create", "Acme", "--slug", "acme"])).code).toBe(0);
    const user = await run(["users", "create", "--org", "acme", "--email", "ann@acme.test", "--role", "admin"], "binary-password\n");
    expect(user.stderr).toBe("");
    expect(user.code).toBe(0);
  });

  test("serve answers health, docs and login, and exits 0 on SIGTERM", async () => {
    const t0 = performance.now();
    const s = await serve(["--port", "0"], { cwd: dir, cli: cli() });
    try {
      let health = await fetch(`${s.url}/api/health`).catch(() => null);
      while (health?.status !== 200) {
        await Bun.sleep(10);
        health = await fetch(`${s.url}/api/health`).catch(() => null);
      }
      console.log(`binary: start to healthy in ${Math.round(performance.now() - t0)} ms`);
      expect(s.stdout()).not.toContain("password:");

      const bundle = await fetch(`${s.url}/api/docs/swagger-ui-bundle.js`);
      expect(bundle.status).toBe(200);
      expect(await bundle.text()).toContain("SwaggerUIBundle");

      const login = await fetch(`${s.url}/api/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "ann@acme.test", password: "binary-password" }),
      });
      expect(login.status).toBe(200);
      expect((await login.json()) as object).toMatchObject({ access: expect.any(String), refresh: expect.any(String), token_type: "Bearer" });
    } finally {
      expect(await s.stop("SIGTERM")).toBe(0);
    }
    expect(existsSync(join(dir, "logs", "taskmgr.log"))).toBe(true);
  });

  test("reads .env as the source command line does: that file only, `$NAME` as written", async () => {
    const here = tempDir("taskmgr-binary-env-");
    copyFileSync(binary, join(here, "taskmgr"));
    writeFileSync(join(here, ".env"), "DATABASE_URL=sqlite:./a$HOME.db\n");
    writeFileSync(join(here, ".env.local"), "DATABASE_URL=sqlite:./local.db\n");
    writeFileSync(join(here, ".env.production"), "DATABASE_URL=sqlite:./production.db\n");
    const r = await taskmgr(["migrate"], { cwd: here, cli: [join(here, "taskmgr")], env: { NODE_ENV: "production" } });
    expect(r.code).toBe(0);
    expect(readdirSync(here).filter((f) => f.endsWith(".db")).sort()).toEqual(["a$HOME.db"]);
  });
});
