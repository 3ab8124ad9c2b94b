/**
 * Landed migrations are immutable (a database migrated by an earlier build never runs a changed
 * file again, so an edit would leave it with another schema than a fresh one): each file's SHA-256
 * is pinned here. A new migration adds its line; changing a pinned one means adding a new
 * migration instead.
 */
import { expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { MIGRATIONS } from "../../src/db/migrations";

const LANDED: Record<string, string> = {
  "0001_initial.sql": "a028745ced24c51a959abe19e451a30d4f7337767a8cc18746c10b909ccc7f5a",
  "0002_jobs.sql": "a18fdad9bee74c497a8ff5ad27e7ec4c5a4e54ea7e17c47f9f037c9a3c44ca2a",
  "0003_feed_covering_index.sql": "97913a4c45490772319eb0b4adb5e1c749df31b40d5afdcabda7cada37f06242",
  "0004_login_attempts_and_retention.sql": "9ee02be73e24ba0d0783f16a1096f8ed1edb4fa44cd231d7094f0c51222b6c58",
  "0005_task_tags_by_tag.sql": "acac78fdbce94d938d838d7a12d44d39544901bdccf1c128affe05507ee83de7",
  "0005_task_tags_by_tag.sqlite.sql": "28a3d5707f2c75f08bca189921b20477affe4f141f9aa4d203b56abf59525bf1",
  "0006_feed_record.sql": "15bedc1343e51d4b36902f22817d44a817cd7743d6734de5028c644bb3becab4",
  "0007_feed_change.sql": "9500153caa81f0fbb3f90b02b4e6cf58e6610996ad97bb0ff352b54c99e48e01",
  "0007_feed_change.sqlite.sql": "bf62f4860209671154d902bcaabe7c63cdd00ba36ad134ec8fc26b38a0a4e5f8",
  "0008_feed_pushed_by_device.sql": "7b52bd27c036bbb8be286b5fe95d9ce7058b3673e7d2a74d1189ffd02403f78c",
  "0009_tasks_updated_id.sql": "91e819bdad058cfa815c6aa5186494f7e03dc422fc4baf7157d5469792aa2fe5",
  "0010_comments_live_task.sql": "0f571951f10d3268c9efae3cabfa9e28acd28b381900fe1e492166bc86135eec",
  "0011_tasks_live_priority_ties.sql": "0dabe1cb3a75fdbe292b2b60a9d108d550ff3847a51e624eba4cde77e599a3f3",
  "0012_refresh_tokens_device.sql": "251bc3017c6c4b8d3e94f7b8312b501438bedb9f282c964e87a1ba238a06cf3e",
  "0013_conflicts_by_creation.sql": "4fb11f8e57210887a40ab18868b27c4aa7799491b07590135820673f1afbbcaf",
  "0014_refresh_tokens_expiry.sql": "565c1e75a63525b6b800521235233b06a836cb04e718cb767119d61359cdb17b",
  "0015_comments_org_updated.sql": "8b855ee1af0110c7ee7d6f1425da8f9409235ca841905c918dfdafea4fdef716",
};

const DIR = join(import.meta.dir, "../../migrations");
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

test("every migration file is pinned, and none changed since it landed", () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith(".sql")).sort();
  // A new file fails here first, with the line to add to LANDED.
  const unpinned = files.filter((f) => !Object.prototype.hasOwnProperty.call(LANDED, f));
  const lines = unpinned.map((f) => `  "${f}": "${sha256(readFileSync(join(DIR, f), "utf8"))}",`);
  expect(unpinned, `a new migration: add to LANDED\n${lines.join("\n")}\n`).toEqual([]);
  expect(files).toEqual(Object.keys(LANDED).sort());
  for (const f of files) expect({ file: f, sha256: sha256(readFileSync(join(DIR, f), "utf8")) }).toEqual({ file: f, sha256: LANDED[f]! });
});

test("the program embeds exactly those files, numbered from 1 without a gap, each named by its number", () => {
  expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
  const embedded = MIGRATIONS.flatMap((m) => (m.sqlite === undefined ? [`${m.name}.sql`] : [`${m.name}.sql`, `${m.name}.sqlite.sql`]));
  expect(embedded.sort()).toEqual(Object.keys(LANDED).sort());
  for (const m of MIGRATIONS) {
    expect(m.name).toStartWith(`${String(m.version).padStart(4, "0")}_`);
    expect(sha256(m.sql)).toBe(LANDED[`${m.name}.sql`]!);
    if (m.sqlite !== undefined) expect(sha256(m.sqlite)).toBe(LANDED[`${m.name}.sqlite.sql`]!);
  }
});
