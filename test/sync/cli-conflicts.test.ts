import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { openDatabase } from "../../src/db/open";
import { migrate } from "../../src/db/migrate";
import type { Database } from "../../src/db/types";
import { createTestApp, type TestApp } from "../support/app";
import { createTestDatabase, DIALECTS } from "../support/db";
import { removeTempDirs, taskmgr, tempDir } from "../cli/support";
import { ConflictRepo } from "../../src/sync/conflicts-repo";
import { Device, type Result, taskData } from "./helpers";

setDefaultTimeout(30_000);
afterAll(removeTempDirs);

for (const dialect of DIALECTS) {
  describe(`taskmgr conflicts [${dialect}]`, () => {
    const cwd = tempDir();
    let url = "";
    let drop: () => Promise<void> = async () => {};
    let db: Database;
    let t: TestApp;
    const cli = (...args: string[]) => taskmgr([...args, "--db", url], { cwd });

    beforeAll(async () => {
      if (dialect === "sqlite") {
        url = `sqlite:${join(cwd, "conflicts.db")}`;
        db = openDatabase(url);
        await migrate(db);
      } else {
        ({ db, url, drop } = await createTestDatabase("postgres"));
      }
      t = await createTestApp(db);
    });
    afterAll(async () => {
      if (dialect === "sqlite") await db.close();
      await drop();
    });

    /** A title conflict in a new organization (the titles each side writes: `remote` first, then `local`). */
    async function conflict(titles: { remote: string; local: string } = { remote: "Buy oat milk", local: "Buy soy milk" }): Promise<{ r: Result; id: string; a: Device; slug: string; localEmail: string }> {
      const ua = await t.createUser();
      const ub = await t.createUser({ org: ua.org.slug });
      const a = Device.of(t, ua);
      const b = Device.of(t, ub);
      const c = a.create("task", taskData({ title: "Buy milk" }));
      b.learn(c.entity_id, (await a.push1(c)).record);
      await a.push1(a.update("task", c.entity_id, { title: titles.remote }));
      const r = await b.push1(b.update("task", c.entity_id, { title: titles.local }));
      expect(r.status).toBe("conflict");
      return { r, id: c.entity_id, a, slug: ua.org.slug, localEmail: ub.email };
    }

    test("list (all organizations or one, open or --all), show, resolve through the same service as the API", async () => {
      const one = await conflict();
      const two = await conflict();

      const listed = await cli("conflicts", "list", "--json");
      expect(listed.code).toBe(0);
      const ids = JSON.parse(listed.stdout).map((c: { id: string }) => c.id);
      expect(ids).toEqual(expect.arrayContaining([one.r.conflict_id, two.r.conflict_id]));

      const mine = JSON.parse((await cli("conflicts", "list", "--org", one.slug, "--json")).stdout);
      expect(mine.map((c: { id: string }) => c.id)).toEqual([one.r.conflict_id]);
      expect(mine[0]).toMatchObject({ entity: "task", entity_id: one.id, fields: ["title"], local: { title: "Buy soy milk" } });

      const unknown = await cli("conflicts", "list", "--org", "no-such-org");
      expect([unknown.code, unknown.stderr.trim()]).toEqual([1, `error: organization "no-such-org" not found`]);

      const table = await cli("conflicts", "list", "--org", one.slug);
      expect(table.stdout.split("\n")[0]).toMatch(/^ID\s+ORG\s+USER\s+ENTITY\s+ENTITY_ID\s+FIELDS\s+CREATED_AT\s+RESOLUTION$/);
      // USER: whose change the conflict keeps (the device that pushed second), for "whose conflicts pile up".
      expect(table.stdout.split("\n")[1]!.split(/\s+/).slice(0, 4)).toEqual([one.r.conflict_id!, one.slug, one.localEmail, "task"]);

      const shown = await cli("conflicts", "show", one.r.conflict_id!);
      expect(shown.code).toBe(0);
      expect(JSON.parse(shown.stdout)).toMatchObject({ id: one.r.conflict_id, remote: { title: "Buy oat milk" }, resolved_at: null });
      // `--json`, as every other command that prints JSON takes it: the same output.
      const shownJson = await cli("conflicts", "show", one.r.conflict_id!, "--json");
      expect([shownJson.code, shownJson.stdout]).toEqual([0, shown.stdout]);

      const resolved = await cli("conflicts", "resolve", one.r.conflict_id!, "--use", "custom", "--data", '{"title": "Buy oat and soy milk"}', "--json");
      expect(resolved.stderr).toBe("");
      expect(resolved.code).toBe(0);
      expect(JSON.parse(resolved.stdout)).toMatchObject({ id: one.id, title: "Buy oat and soy milk", version: 4 });
      const history = await t.request("GET", `/api/tasks/${one.id}/history`, { token: one.a.user.token });
      expect(history.body.results.at(-1)).toMatchObject({ action: "conflict_resolved", user_id: null });

      expect(JSON.parse((await cli("conflicts", "list", "--org", one.slug, "--json")).stdout)).toEqual([]);
      const all = JSON.parse((await cli("conflicts", "list", "--org", one.slug, "--all", "--json")).stdout);
      expect(all[0]).toMatchObject({ id: one.r.conflict_id, resolution: "custom", resolved_by: null });

      const twice = await cli("conflicts", "resolve", one.r.conflict_id!, "--use", "local");
      expect(twice.code).toBe(1);
      expect(twice.stderr).toContain("already resolved");

      // An id in upper case names the same conflict.
      const plain = await cli("conflicts", "resolve", two.r.conflict_id!.toUpperCase(), "--use", "remote");
      expect(plain.code).toBe(0);
      expect(plain.stdout).toContain(`resolved conflict ${two.r.conflict_id} (remote): record ${two.id} is at version 4`);
    });

    // Found by security review: JSON.stringify escapes C0 controls (ESC included) but leaves C1 controls
    // (U+009B is the 8-bit CSI some terminals obey), DEL, line separators and bidirectional overrides
    // raw, and `conflicts show` prints a member's text to the admin's terminal as JSON, always.
    test("show and list --json write a text's C1 controls, separators and bidirectional overrides as JSON escapes: the same JSON, nothing raw", async () => {
      const remote = "Buy \u009b2J\u009d0;pwned\u0007 milk\u007f";
      const local = "Buy \u202eklim yos\u202c\u2028\u200b\u2066x\u2069";
      const { r, slug } = await conflict({ remote, local });
      const raw = /[\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
      for (const args of [["conflicts", "show", r.conflict_id!], ["conflicts", "list", "--org", slug, "--json"]] as const) {
        const out = await cli(...args);
        expect(out.code).toBe(0);
        expect(out.stdout).not.toMatch(raw);
      }
      const shown = await cli("conflicts", "show", r.conflict_id!);
      expect(shown.stdout).toContain("\\u009b2J");
      expect(JSON.parse(shown.stdout)).toMatchObject({ remote: { title: remote }, local: { title: local } });
      const [listed] = JSON.parse((await cli("conflicts", "list", "--org", slug, "--json")).stdout);
      expect(listed).toMatchObject({ remote: { title: remote }, local: { title: local } });
    });

    test("a resolution that leaves its record deleted (deleted since the conflict arose) says so", async () => {
      const { r, id, a } = await conflict();
      expect((await t.request("DELETE", `/api/tasks/${id}`, { token: a.user.token })).status).toBe(204);
      const out = await cli("conflicts", "resolve", r.conflict_id!, "--use", "local");
      expect([out.code, out.stderr]).toEqual([0, ""]);
      expect(out.stdout.trim()).toMatch(new RegExp(`^resolved conflict ${r.conflict_id} \\(local\\): record ${id} is at version \\d+ \\(deleted\\)$`));
      const live = await cli("conflicts", "resolve", (await conflict()).r.conflict_id!, "--use", "remote");
      expect(live.stdout).not.toContain("(deleted)");
    });

    test("list --json of more conflicts than one read holds: whole, oldest first across reads, the same text as one JSON array; the table without the record copies", async () => {
      const org = await t.createOrg();
      const repo = new ConflictRepo(db, org.id);
      const N = 1_201; // three reads of 500
      const base = Date.parse("2026-03-01T00:00:00.000Z");
      const made: { id: string; createdAt: string }[] = [];
      for (let i = 0; i < N; i++) {
        // Creation times out of step with the ids, several conflicts per instant: the order is (created_at, id).
        const createdAt = new Date(base + ((i * 7919) % 400) * 1000).toISOString();
        const id = crypto.randomUUID();
        made.push({ id, createdAt });
        await repo.put({
          id, orgId: org.id, entity: "task", entityId: crypto.randomUUID(), fields: ["title"], local: { title: `local ${i}` }, remote: { title: `remote ${i}` },
          base: i % 2 ? null : { title: "base" }, deviceId: null, userId: null, createdAt, resolvedAt: null, resolution: null, resolvedBy: null,
        });
      }
      const expected = made.sort((x, y) => (x.createdAt < y.createdAt ? -1 : x.createdAt > y.createdAt ? 1 : x.id < y.id ? -1 : 1)).map((c) => c.id);

      const listed = await cli("conflicts", "list", "--org", org.slug, "--json");
      expect([listed.code, listed.stderr]).toEqual([0, ""]);
      const parsed = JSON.parse(listed.stdout) as { id: string; local: { title: string }; base: unknown }[];
      expect(listed.stdout).toBe(JSON.stringify(parsed, null, 2) + "\n");
      expect(parsed.map((c) => c.id)).toEqual(expected);
      expect(parsed.every((c) => c.local.title.startsWith("local "))).toBe(true);

      const table = await cli("conflicts", "list", "--org", org.slug);
      const lines = table.stdout.trimEnd().split("\n");
      expect(lines).toHaveLength(N + 1);
      expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(expected);

      const empty = await cli("conflicts", "list", "--org", (await t.createOrg()).slug, "--json");
      expect(empty.stdout).toBe("[]\n");
    });

    test("unknown id, bad --use or --data: one line on stderr and a failure status", async () => {
      const { r } = await conflict();
      const missing = await cli("conflicts", "show", crypto.randomUUID());
      expect([missing.code, missing.stderr.trim()]).toEqual([1, "error: conflict not found"]);
      expect((await cli("conflicts", "resolve", r.conflict_id!, "--use", "mine")).code).toBe(2);
      // A malformed --data, or --data without custom (or custom without it), is bad usage: exit 2.
      const badJson = await cli("conflicts", "resolve", r.conflict_id!, "--use", "custom", "--data", "{title");
      expect([badJson.code, badJson.stderr.trim()]).toEqual([2, "error: --data is not valid JSON"]);
      expect((await cli("conflicts", "resolve", r.conflict_id!, "--use", "custom", "--data", "[1]")).code).toBe(2);
      expect((await cli("conflicts", "resolve", r.conflict_id!, "--use", "custom")).code).toBe(2);
      expect((await cli("conflicts", "resolve", r.conflict_id!, "--use", "local", "--data", "{}")).code).toBe(2);
      const invalid = await cli("conflicts", "resolve", r.conflict_id!, "--use", "custom", "--data", '{"status": "finished"}');
      expect(invalid.code).toBe(1);
      expect(invalid.stderr).toContain("status");
      expect(JSON.parse((await cli("conflicts", "show", r.conflict_id!)).stdout).resolved_at).toBeNull();
    });
  });
}
