/**
 * A `sqlite:` URL naming a folder (the data folder given for the file) is refused by every command
 * in one line that says so and names a file to give instead, not SQLite's "unable to open database
 * file" or, from `migrate status`, "disk I/O error".
 */
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { mkdirSync, readdirSync } from "node:fs";
import { removeTempDirs, taskmgr, tempDir } from "./support";

setDefaultTimeout(30_000);
afterAll(removeTempDirs);

for (const args of [["migrate", "status"], ["migrate"], ["serve", "--port", "0"], ["orgs", "list"]]) {
  test(`taskmgr ${args.join(" ")} on a folder: one line naming it a folder, exit 1, nothing created in it`, async () => {
    const cwd = tempDir();
    const folder = join(cwd, "data");
    mkdirSync(folder);
    const r = await taskmgr([...args, "--db", `sqlite:${folder}`], { cwd });
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: 1,
      stderr: `error: cannot open database sqlite:${folder}: ${folder} is a folder, not a database file (name the file in it: sqlite:${join(folder, "taskmgr.db")})\n`,
    });
    expect(readdirSync(folder)).toEqual([]);
  });
}
