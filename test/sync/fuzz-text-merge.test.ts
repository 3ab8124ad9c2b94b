/**
 * Seeded fuzz of the text merges through the HTTP app: two devices edit the same text field
 * (task title/description, project name/description, comment body) from one base version; the
 * same pair of edits is pushed in both orders (on two copies of the record). Checked:
 * - the outcome is the pure rule's (`mergeText`): merged → both orders hold the same text, fields
 *   and clock; a conflict → the record keeps the first pusher's text, and the Conflict's local,
 *   remote and base are the second pusher's text, the first's and the base;
 * - what a careful user expects: edits of different lines both survive, identical edits and a
 *   side that reverts to the base merge, overlapping edits of one word are a conflict;
 * - no 5xx, nothing rejected.
 * Unicode (emoji, combining marks, CJK), CRLF vs LF, trailing newlines, whitespace-only edits,
 * empty strings (descriptions) are drawn. `TEXT_FUZZ_SEEDS=1,2` and `TEXT_FUZZ_CASES=…` for more.
 */
import { expect, test } from "bun:test";
import { mergeText } from "../../src/sync/text-merge";
import { createTestApp, type TestApp } from "../support/app";
import { forEachDialect } from "../support/db";
import { Rng } from "../support/device";
import { Device } from "./helpers";

const SEEDS = (process.env.TEXT_FUZZ_SEEDS ?? "11,23").split(",").map(Number);
const CASES = Number(process.env.TEXT_FUZZ_CASES ?? 40);

const WORDS = ["plan", "the", "café", "👍", "e\u0301t\u00e9", "日本語", "🧑‍💻", "fix", "a", "notes", "x\u200by", "Ω"];
const NEW_WORDS = ["NEW", "🎉", "n\u0303", "改", "done!", "ß"];

type Kind = "different-lines" | "same-word" | "identical" | "revert" | "whitespace" | "crlf" | "trailing-newline" | "random";
const KINDS: Kind[] = ["different-lines", "same-word", "identical", "revert", "whitespace", "crlf", "trailing-newline", "random"];

function baseText(rng: Rng, lines: number): string {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) out.push(Array.from({ length: 1 + rng.int(4) }, () => rng.pick(WORDS)).join(" ") + ` L${i}`);
  return out.join("\n");
}

/** Replaces the first word of line `i` with `word` (lines keep their unique ` L<i>` suffix). */
function editLine(text: string, i: number, word: string): string {
  const lines = text.split("\n");
  lines[i] = lines[i].replace(/^\S+/, word);
  return lines.join("\n");
}

function randomEdit(rng: Rng, text: string): string {
  const chars = [...text];
  const pos = rng.int(chars.length + 1);
  const del = rng.int(4);
  const ins = rng.pick(["", " ", "\n", rng.pick(NEW_WORDS), `${rng.pick(NEW_WORDS)} `, "\r\n"]);
  chars.splice(pos, del, ...[...ins]);
  return chars.join("");
}

/** A pair of edits of `base` and what a careful user expects of their merge (null: no claim). */
function edits(rng: Rng, kind: Kind, base: string): { a: string; b: string; expect: "merge" | "conflict" | null } {
  // The non-empty lines (a trailing newline leaves an empty last one).
  const n = base.split("\n").filter((l) => l !== "").length;
  if (n === 0) {
    // An empty text: both sides write one (a conflict unless the same), or one side leaves it empty.
    const b = rng.pick(["Beta", "Alpha", "", " "]);
    return { a: "Alpha", b, expect: base !== "" ? null : b === "Beta" || b === " " ? "conflict" : "merge" };
  }
  switch (kind) {
    case "different-lines": {
      if (n < 2) return { a: editLine(base, 0, "A1"), b: base + "\nappended", expect: "merge" };
      const i = rng.int(n);
      const j = (i + 1 + rng.int(n - 1)) % n;
      return { a: editLine(base, i, rng.pick(NEW_WORDS)), b: editLine(base, j, `${rng.pick(NEW_WORDS)}2`), expect: "merge" };
    }
    case "same-word": {
      const i = rng.int(n);
      return { a: editLine(base, i, "Alpha"), b: editLine(base, i, "Beta"), expect: "conflict" };
    }
    case "identical": {
      const e = editLine(base, rng.int(n), rng.pick(NEW_WORDS));
      return { a: e, b: e, expect: "merge" };
    }
    case "revert":
      return { a: base, b: editLine(base, rng.int(n), rng.pick(NEW_WORDS)), expect: "merge" };
    case "whitespace": {
      // One side doubles a space / adds trailing spaces on one line, the other edits another line.
      if (n < 2) return { a: base + "  ", b: editLine(base, 0, "W"), expect: null };
      const i = rng.int(n);
      const j = (i + 1 + rng.int(n - 1)) % n;
      const lines = base.split("\n");
      lines[i] = lines[i] + "   ";
      return { a: lines.join("\n"), b: editLine(base, j, "W"), expect: "merge" };
    }
    case "crlf": {
      // One side converts every line break to CRLF, the other edits a word: every line changed by one side.
      return { a: base.replaceAll("\n", "\r\n"), b: editLine(base, rng.int(n), "C"), expect: null };
    }
    case "trailing-newline": {
      const i = rng.int(n);
      return { a: base + "\n", b: editLine(base, i, "T"), expect: "merge" };
    }
    case "random":
      return { a: randomEdit(rng, base), b: randomEdit(rng, base), expect: null };
  }
}

type Target = { entity: "task" | "project" | "comment"; field: string; required: boolean };
const TARGETS: Target[] = [
  { entity: "task", field: "title", required: true },
  { entity: "task", field: "description", required: false },
  { entity: "project", field: "name", required: true },
  { entity: "project", field: "description", required: false },
  { entity: "comment", field: "body", required: true },
];

const STRIP = ["version", "vector_clock", "updated_at", "created_at", "deleted_at", "deleted_by", "id"];
const fieldsOf = (r: any) => Object.fromEntries(Object.entries(r).filter(([k]) => !STRIP.includes(k)));

/** A field's rule for a value: required text must hold a non-blank character; title ≤ 500, name ≤ 200. */
const valid = (t: Target, s: string) => (!t.required || s.trim() !== "") && s.length <= (t.field === "name" ? 200 : t.field === "title" ? 500 : 100_000);

forEachDialect("text merges through push, both orders", ({ db }) => {
  for (const seed of SEEDS) {
    test(`seed ${seed}: ${CASES} cases`, async () => {
      const t: TestApp = await createTestApp(db());
      const user = await t.createUser();
      const a = Device.of(t, user);
      const b = await Device.another(t, user, "b");
      const rng = new Rng(seed);
      const task = a.create("task", { title: "holder" });
      expect((await a.push1(task)).status).toBe("applied");
      const tally: Record<string, number> = {};
      for (let c = 0; c < CASES; c++) {
        const kind = rng.pick(KINDS);
        const target = rng.pick(TARGETS);
        let base = baseText(rng, target.field === "title" || target.field === "name" ? 1 + rng.int(2) : 1 + rng.int(5));
        if (!target.required && rng.chance(0.1)) base = "";
        if (rng.chance(0.3)) base += "\n";
        const e = edits(rng, kind, base);
        if (!valid(target, e.a) || !valid(target, e.b) || !valid(target, base)) continue;
        const where = `seed ${seed} case ${c} ${kind} ${target.entity}.${target.field} base=${JSON.stringify(base)} a=${JSON.stringify(e.a)} b=${JSON.stringify(e.b)}`;
        const pure = mergeText(base, e.a, e.b);
        const pureSwapped = mergeText(base, e.b, e.a);
        expect(JSON.stringify(pureSwapped), where).toBe(JSON.stringify(pure));
        if (e.expect === "merge") expect(pure, where).toEqual({ ok: true, text: expect.any(String) });
        if (e.expect === "conflict") expect(pure.ok, where).toBe(false);
        const mergedValid = pure.ok && valid(target, pure.text);

        const outcomes: { status: string[]; record: any; clock: any; version: number; conflict: any }[] = [];
        for (const order of [[a, b], [b, a]] as const) {
          const data: Record<string, unknown> = target.entity === "task" ? { title: "t" } : target.entity === "project" ? { name: "p" } : { task_id: task.entity_id, body: "c" };
          data[target.field] = base;
          const created = a.create(target.entity, data);
          const made = await a.push1(created);
          expect(made.status, where).toBe("applied");
          b.learn(created.entity_id, made.record);
          const text = (d: Device) => (d === a ? e.a : e.b);
          const [first, second] = order;
          const r1 = await first.push1(first.update(target.entity, created.entity_id, { [target.field]: text(first) }));
          const r2 = await second.push1(second.update(target.entity, created.entity_id, { [target.field]: text(second) }));
          expect(r1.status, where).toBe("applied");
          let conflict = null;
          if (r2.conflict_id) conflict = (await t.request("GET", `/api/sync/conflicts/${r2.conflict_id}`, { token: user.token })).body;
          outcomes.push({ status: [r1.status, r2.status], record: fieldsOf(r2.record), clock: r2.record.vector_clock, version: r2.record.version, conflict });
          if (mergedValid) {
            expect(r2.status, where).toBe("merged");
            expect(r2.record[target.field], where).toBe((pure as { text: string }).text);
          } else {
            expect(r2.status, where).toBe("conflict");
            expect(r2.record[target.field], `${where}: the server keeps its text`).toBe(text(first));
            expect(conflict.fields, where).toEqual([target.field]);
            expect(conflict.local[target.field], where).toBe(text(second));
            expect(conflict.remote[target.field], where).toBe(text(first));
            expect(conflict.base[target.field], where).toBe(base);
          }
        }
        const [x, y] = outcomes;
        expect(y.clock, `${where}: same clock in both orders`).toEqual(x.clock);
        expect(y.version, where).toBe(x.version);
        if (mergedValid) expect(y.record, `${where}: same record in both orders`).toEqual(x.record);
        const key = `${kind}:${x.status[1]}`;
        tally[key] = (tally[key] ?? 0) + 1;
      }
      if (process.env.TEXT_FUZZ_TALLY) console.log(seed, tally);
    }, 60_000);
  }
});
