/**
 * A writable field's merge policy is decided, and written out wherever CONTRIBUTING says ("Adding a
 * field to a synced record"). `RULES` (src/sync/merge.ts) names every writable field (tsc), with a
 * rule or as a conflict field; this test holds a second record of the conflict fields, and nothing
 * else fails when a rule is added to `RULES` and the documents still list the old ones.
 * - every writable field either has a rule or is listed in {@link CONFLICT_FIELDS} below;
 * - every rule is a row of docs/sync-design.md's table of field rules (and every row a rule);
 * - every rule but the text merges is named in README.md ("Concurrent edits merge field by field")
 *   and in the description of `POST /api/sync/push` in the OpenAPI document (texts: "texts three-way").
 * The API contract (../shared/api-contract.md, "Automatic merge rules") must say the same: it is not
 * in this repository, and not ours to change alone.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createApp } from "../../src/app";
import { loadConfig } from "../../src/config";
import { openDatabase } from "../../src/db/open";
import { silentLogger } from "../../src/log/logger";
import { ENTITY_KINDS, type EntityKind, writableFields, type WritableField } from "../../src/records/model";
import { createServices } from "../../src/services";
import { fieldsWithRule, isMergedAsText } from "../../src/sync/merge";
import { systemClock } from "../../src/time";

/**
 * The writable fields that two concurrent changes to different values always leave in conflict (no rule).
 * A new field goes either here or into `RULES`, and the rules' documents (above).
 */
const CONFLICT_FIELDS: { [K in EntityKind]: readonly WritableField<K>[] } = {
  project: ["color", "archived"],
  task: ["project_id", "assignee_id"],
  comment: ["task_id", "parent_id"],
};

const ROOT = join(import.meta.dir, "../..");
const rules = ENTITY_KINDS.flatMap((kind) => fieldsWithRule(kind).map((field) => ({ kind, field })));
const named = (kind: string, field: string) => `${kind}.${field}`;
/** A part of a table row's first cell: a kind (any of ENTITY_KINDS, not a list of its own) and its fields. */
const KIND_CELL = new RegExp(`^\\s*(${ENTITY_KINDS.join("|")}) (.*)$`);
/**
 * `text` without its parenthesized asides: a rule's field must be named in the prose itself, not only
 * among the values listed for another rule (`done` is a task status in "(`done` > `cancelled` …)").
 */
const withoutAsides = (text: string) => text.replace(/\([^()]*\)/g, "");

test("every writable field of every record has a merge rule or is listed as a conflict field, not both", () => {
  for (const kind of ENTITY_KINDS) {
    const ruled = fieldsWithRule(kind);
    const conflicting: readonly string[] = CONFLICT_FIELDS[kind];
    expect({ kind, both: ruled.filter((f) => conflicting.includes(f)) }).toEqual({ kind, both: [] });
    expect({ kind, fields: [...ruled, ...conflicting].sort() }).toEqual({ kind, fields: [...writableFields(kind)].sort() });
  }
});

test("docs/sync-design.md's table of field rules has a row for exactly the fields with a rule", () => {
  const doc = readFileSync(join(ROOT, "docs/sync-design.md"), "utf8");
  const table = doc.slice(doc.indexOf("**The field rules**")).split("\n\n")[1]!;
  // First cells such as "task `priority`" or "task `title`, `description`; project `name`, `description`; comment `body`".
  const documented = table
    .split("\n")
    .filter((line) => line.startsWith("| ") && !line.startsWith("| ---") && !line.startsWith("| field "))
    .flatMap((line) => line.split("|")[1]!.split(";"))
    .flatMap((part) => {
      const m = KIND_CELL.exec(part);
      return m ? [...m[2]!.matchAll(/`([a-z_]+)`/g)].map((f) => named(m[1]!, f[1]!)) : [];
    });
  expect(documented.sort()).toEqual(rules.map((r) => named(r.kind, r.field)).sort());
});

test("README.md and the push route's description name every rule but the text merges", async () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const from = readme.indexOf("Concurrent edits merge field by field");
  expect(from).toBeGreaterThan(0);
  const sentence = readme.slice(from, readme.indexOf("docs/sync-design.md", from));
  const db = openDatabase("sqlite::memory:");
  try {
    const deps = { db, config: loadConfig({ db: "sqlite::memory:" }, {}), clock: systemClock, log: silentLogger };
    const doc = (await (await createApp(createServices(deps), deps).handle(new Request("http://localhost/api/schema"))).json()) as {
      paths: Record<string, Record<string, { description?: string }>>;
    };
    const push = doc.paths["/api/sync/push"]!.post!.description!;
    expect(push).toContain("texts three-way");
    expect(sentence).toContain("texts three-way");
    for (const { kind, field } of rules.filter((r) => !isMergedAsText(r.kind, r.field))) {
      expect({ rule: named(kind, field), readme: withoutAsides(sentence).includes(`\`${field}\``) }).toEqual({ rule: named(kind, field), readme: true });
      expect({ rule: named(kind, field), push: new RegExp(`\\b${field}\\b`).test(withoutAsides(push)) }).toEqual({ rule: named(kind, field), push: true });
    }
  } finally {
    db.close();
  }
});
