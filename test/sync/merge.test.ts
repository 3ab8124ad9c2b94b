import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { jsonEqual as deepEqual } from "../../src/records/json";
import { PRIORITY_RANK, type EntityKind } from "../../src/records/model";
import {
  STATUS_PRECEDENCE,
  diffTokens,
  mergeRecord,
  mergeTags,
  mergeText,
  MAX_TEXT_EDITS,
  MAX_TEXT_MERGE_CHARS,
  MAX_TEXT_MERGE_WORK,
  MAX_PUSH_MERGE_WORK,
  CHARS_PER_UNIT,
  type Fields,
} from "../../src/sync/merge";

const baseTask: Fields = {
  project_id: "p1",
  title: "Write the report",
  description: "Intro\nBody\nOutro\n",
  status: "todo",
  priority: "medium",
  due_date: "2026-12-01",
  tags: ["a", "b"],
  assignee_id: null,
};

/** Merges `local` onto a remote state built from the base plus `remoteChanges`. */
function taskMerge(local: Fields, remoteChanges: Fields, base: Fields | null = baseTask) {
  return mergeRecord(base, local, { ...baseTask, ...remoteChanges }, "task");
}

describe("mergeRecord: one side changed", () => {
  const cases: [string, Fields, Fields, Fields][] = [
    ["local-only change is taken", { title: "New" }, {}, { title: "New" }],
    ["remote-only change is kept", {}, { title: "Remote" }, { title: "Remote" }],
    ["local field equal to base does not undo a remote change", { priority: "medium" }, { priority: "low" }, { priority: "low" }],
    ["different fields from each side both survive", { status: "done" }, { assignee_id: "u1" }, { status: "done", assignee_id: "u1" }],
    ["local clears a field", { assignee_id: null, due_date: null }, { title: "T2" }, { due_date: null, title: "T2" }],
    ["non-mergeable field changed by one side only", { project_id: "p2" }, { color: undefined }, { project_id: "p2" }],
  ];
  test.each(cases)("%s", (_name, local, remoteChanges, expectedChanges) => {
    const { merged, conflicts } = taskMerge(local, remoteChanges);
    expect(conflicts).toEqual([]);
    expect(merged).toEqual({ ...baseTask, ...remoteChanges, ...expectedChanges });
  });
});

describe("mergeRecord: both sides changed", () => {
  const cases: [string, Fields, Fields, Fields, string[]][] = [
    ["same new value", { status: "blocked" }, { status: "blocked" }, { status: "blocked" }, []],
    ["priority: higher wins (local higher)", { priority: "urgent" }, { priority: "high" }, { priority: "urgent" }, []],
    ["priority: higher wins (remote higher)", { priority: "low" }, { priority: "high" }, { priority: "high" }, []],
    ["priority: unknown value is a conflict", { priority: "asap" }, { priority: "high" }, { priority: "high" }, ["priority"]],
    ["status: done beats cancelled", { status: "cancelled" }, { status: "done" }, { status: "done" }, []],
    ["status: cancelled beats blocked", { status: "cancelled" }, { status: "blocked" }, { status: "cancelled" }, []],
    ["status: blocked beats in_progress", { status: "in_progress" }, { status: "blocked" }, { status: "blocked" }, []],
    ["status: in_progress beats todo", { status: "in_progress" }, { status: "todo", title: "x" }, { status: "in_progress", title: "x" }, []],
    ["tags: additions from both sides", { tags: ["a", "b", "x"] }, { tags: ["a", "b", "y"] }, { tags: ["a", "b", "x", "y"] }, []],
    ["tags: removals do not come back", { tags: ["b", "c"] }, { tags: ["a", "d"] }, { tags: ["c", "d"] }, []],
    ["tags: both remove everything", { tags: ["z"] }, { tags: [] }, { tags: ["z"] }, []],
    ["tags: same set in another order is no change", { tags: ["b", "a"] }, { tags: ["a", "b", "c"] }, { tags: ["a", "b", "c"] }, []],
    ["tags: both sides only reorder: no change, the set in its sorted form", { tags: ["b", "a"] }, { tags: ["b", "a"] }, { tags: ["a", "b"] }, []],
    ["due_date: earlier wins", { due_date: "2026-11-20" }, { due_date: "2026-11-25" }, { due_date: "2026-11-20" }, []],
    ["due_date: earlier wins across formats", { due_date: "2026-12-05T00:00:00.000Z" }, { due_date: "2026-12-04T23:00:00Z" }, { due_date: "2026-12-04T23:00:00Z" }, []],
    ["due_date: same instant, different spelling", { due_date: "2026-12-03T00:00:00.000Z" }, { due_date: "2026-12-03" }, { due_date: "2026-12-03" }, []],
    ["due_date: local cleared, remote set", { due_date: null }, { due_date: "2026-11-25" }, { due_date: "2026-11-25" }, ["due_date"]],
    ["due_date: local set, remote cleared", { due_date: "2026-11-25" }, { due_date: null }, { due_date: null }, ["due_date"]],
    ["due_date: unparseable is a conflict", { due_date: "soon" }, { due_date: "2026-11-25" }, { due_date: "2026-11-25" }, ["due_date"]],
    ["title: edits to different words merge", { title: "Write the final report" }, { title: "Review the report" }, { title: "Review the final report" }, []],
    ["title: same word edited differently conflicts", { title: "Write the memo" }, { title: "Write the paper" }, { title: "Write the paper" }, ["title"]],
    ["description: different lines merge", { description: "Intro!\nBody\nOutro\n" }, { description: "Intro\nBody\nOutro!\n" }, { description: "Intro!\nBody\nOutro!\n" }, []],
    ["description: overlapping edit conflicts", { description: "Intro\nBody A\nOutro\n" }, { description: "Intro\nBody B\nOutro\n" }, { description: "Intro\nBody B\nOutro\n" }, ["description"]],
    ["description: null on one side is a conflict", { description: null }, { description: "Other\n" }, { description: "Other\n" }, ["description"]],
    ["project_id: plain field conflicts", { project_id: "p2" }, { project_id: "p3" }, { project_id: "p3" }, ["project_id"]],
    ["assignee_id: plain field conflicts", { assignee_id: "u1" }, { assignee_id: "u2" }, { assignee_id: "u2" }, ["assignee_id"]],
    [
      "several conflicts are sorted, the rest still merges",
      { title: "A title", project_id: "p2", priority: "high" },
      { title: "B title", project_id: "p3", priority: "low" },
      { title: "B title", project_id: "p3", priority: "high" },
      ["project_id", "title"],
    ],
  ];
  test.each(cases)("%s", (_name, local, remoteChanges, expectedChanges, expectedConflicts) => {
    const { merged, conflicts } = taskMerge(local, remoteChanges);
    expect(conflicts).toEqual(expectedConflicts);
    expect(merged).toEqual({ ...baseTask, ...remoteChanges, ...expectedChanges });
  });

  test("the same rule gives the same value whichever side is local", () => {
    for (const [field, a, b] of [
      ["priority", "low", "urgent"],
      ["status", "done", "blocked"],
      ["due_date", "2026-01-02", "2026-01-01"],
    ] as const) {
      const ab = taskMerge({ [field]: a }, { [field]: b }).merged[field];
      const ba = taskMerge({ [field]: b }, { [field]: a }).merged[field];
      expect(ab).toBe(ba);
    }
  });
});

describe("mergeRecord: other entities and unknown base", () => {
  const cases: [string, EntityKind, Fields | null, Fields, Fields, Fields, string[]][] = [
    ["project name merges as text", "project", { name: "Home stuff", color: "red", archived: false }, { name: "My home stuff" }, { name: "Home things", color: "red", archived: false }, { name: "My home things", color: "red", archived: false }, []],
    ["project color conflicts", "project", { name: "P", color: "red" }, { color: "blue" }, { name: "P", color: "green" }, { name: "P", color: "green" }, ["color"]],
    ["project archived conflicts", "project", { archived: false, color: "red" }, { archived: true }, { archived: null, color: "red" }, { archived: null, color: "red" }, ["archived"]],
    ["comment body merges as text", "comment", { body: "one two three", parent_id: null }, { body: "1 two three" }, { body: "one two 3", parent_id: null }, { body: "1 two 3", parent_id: null }, []],
    ["comment parent_id conflicts", "comment", { body: "x", parent_id: null }, { parent_id: "c1" }, { body: "x", parent_id: "c2" }, { body: "x", parent_id: "c2" }, ["parent_id"]],
    ["priority is not a rule for projects", "project", { priority: "low" }, { priority: "high" }, { priority: "medium" }, { priority: "medium" }, ["priority"]],
    ["unknown base: differing fields conflict", "task", null, { priority: "urgent", status: "done", tags: ["x"] }, { priority: "low", status: "done", tags: [] }, { priority: "low", status: "done", tags: [] }, ["priority", "tags"]],
    ["unknown base: equal values are no conflict", "task", null, { title: "Same" }, { title: "Same", status: "todo" }, { title: "Same", status: "todo" }, []],
  ];
  test.each(cases)("%s", (_name, entity, base, local, remote, expected, expectedConflicts) => {
    const result = mergeRecord(base, local, remote, entity);
    expect(result.conflicts).toEqual(expectedConflicts);
    expect(result.merged).toEqual(expected);
  });

  test("tags: re-merging the same reordering onto the result changes nothing (found by the idempotence property)", () => {
    const base = { ...structuredClone(baseTask), tags: ["a", "b", "c"] };
    const local = { tags: ["b", "c", "a"] };
    const first = mergeRecord(base, local, { ...base, tags: ["c", "b", "a"] }, "task");
    expect(first).toEqual({ merged: { ...base, tags: ["a", "b", "c"] }, conflicts: [] });
    expect(mergeRecord(base, local, first.merged, "task").merged).toEqual(first.merged);
  });

  test("does not mutate its inputs", () => {
    const base = structuredClone(baseTask);
    const local = { tags: ["a", "x"] };
    const remote = { ...structuredClone(baseTask), tags: ["b"] };
    const snapshot = structuredClone([base, local, remote]);
    mergeRecord(base, local, remote, "task");
    expect([base, local, remote]).toEqual(snapshot);
  });

  test("a __proto__ field never touches the prototype", () => {
    const local = JSON.parse('{"__proto__": {"polluted": true}}');
    const { merged, conflicts } = mergeRecord({}, local, {}, "task");
    expect(conflicts).toEqual([]);
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe("mergeText", () => {
  const cases: [string, string, string, string, string | null][] = [
    ["nobody changed", "abc", "abc", "abc", "abc"],
    ["only local changed", "a\nb", "a\nB", "a\nb", "a\nB"],
    ["only remote changed", "a\nb", "a\nb", "A\nb", "A\nb"],
    ["both made the same edit", "a b", "a c", "a c", "a c"],
    ["empty base, one side writes", "", "hello", "", "hello"],
    ["different lines", "l1\nl2\nl3\nl4\n", "L1\nl2\nl3\nl4\n", "l1\nl2\nl3\nL4\n", "L1\nl2\nl3\nL4\n"],
    ["adjacent lines", "l1\nl2\n", "L1\nl2\n", "l1\nL2\n", "L1\nL2\n"],
    ["different words on one line", "the quick brown fox", "the slow brown fox", "the quick brown dog", "the slow brown dog"],
    ["insertions at different places", "a b c d", "x a b c d", "a b c d y", "x a b c d y"],
    ["deletion and a distant edit", "one two three four", "one three four", "one two three 4", "one three 4"],
    ["whitespace is kept as written", "a  b\tc", "A  b\tc", "a  b\tC", "A  b\tC"],
    ["same word edited differently", "the quick fox", "the slow fox", "the fast fox", null],
    ["both insert different text at one place", "a b", "a x b", "a y b", null],
    ["delete a word the other edits", "a b c", "a c", "a B c", null],
    ["both write into an empty base", "", "one", "two", null],
    ["edits to adjacent words touch the separator", "a b", "ab", "a c", null],
    ["a line added between two, the other editing the line above", "l1 a\nl2 b", "l1 a\nnew line\nl2 b", "l1 A\nl2 b", "l1 A\nnew line\nl2 b"],
    ["a line added between two, the other editing the line below", "l1 a\nl2 b", "l1 a\nnew line\nl2 b", "l1 a\nl2 B", "l1 a\nnew line\nl2 B"],
    ["the same line added by both, one also editing the line above: added once", "g the e\na b b", "g the e\nnew line\na b b", "Q g the e\nnew line\na b b", "Q g the e\nnew line\na b b"],
    // Found by QA: the diffs put the added line after the edited line on one side and before it on
    // the other, and both were applied: "new line" twice, a text neither writer wrote.
    ["the same line added by both next to the lines each edited: a conflict, never the line twice", "a b c\nd e f\ng h i", "a b c\nd e f X\nnew line\ng h i", "a b c\nd e f\nnew line\ng h i Y", null],
    ["the same word added by both next to the words each edited: a conflict, never the word twice", "b d a c f", "bA d a ZZ c f", "b d a ZZ Bc f", null],
    ["the same two lines added by both next to the lines each edited: a conflict", "x\ny", "x X\nn1\nn2\ny", "x\nn1\nn2\ny Y", null],
    // A review of that fix: the same common word or line added at different places still merges.
    ["the same word added at different places", "Meeting with Bob", "Meeting with Bob and Alice", "Meeting with the team and Bob", "Meeting with the team and Bob and Alice"],
    ["the same word added at both ends", "cat sat", "the cat sat", "cat sat on the mat", "the cat sat on the mat"],
    ["the same line added under two headings", "Shopping:\nmilk\nWork:\nemail", "Shopping:\nmilk\n- done\nWork:\nemail", "Shopping:\nmilk\nWork:\nemail\n- done", "Shopping:\nmilk\n- done\nWork:\nemail\n- done"],
    ["words appended to a line, a line added below it, both using 'the'", "Pick up the kids\nPay rent", "Pick up the kids at the gym\nPay rent", "Pick up the kids\nBook the dentist\nPay rent", "Pick up the kids at the gym\nBook the dentist\nPay rent"],
    ["a list item extended, an item added below it", "- Email Anna\n- Pay rent", "- Email Anna about the offsite\n- Pay rent", "- Email Anna\n- Call the bank\n- Pay rent", "- Email Anna about the offsite\n- Call the bank\n- Pay rent"],
    ["line 1 edited and a line added above line 3, line 3 edited", "Buy milk\nCall Bob\nPay rent", "Buy oat milk\nCall Bob\nEmail Anna\nPay rent", "Buy milk\nCall Bob\nPaid rent", "Buy oat milk\nCall Bob\nEmail Anna\nPaid rent"],
    ["edits to adjacent words that add a word in common", "Call Bob Monday", "Call the plumber Monday", "Call Bob on the weekend", null],
    // Found by a second review: the word diff aligned a new item with the start of the old one below
    // it, so the other side's edit of that item landed on both (or on the new one only).
    ["the same prefix added to an item, one side adding an item above it: a conflict, not the prefix on both", "- Buy milk\n- Call Bob\n- Pay rent", "- Buy milk\n- Call Anna\n- Urgent: Call Bob\n- Pay rent", "- Buy milk\n- Urgent: Call Bob\n- Pay rent", null],
    ["the same word put before a line, one side adding a line above it", "TODO fix login\nTODO pay rent", "TODO write tests\nURGENT TODO fix login\nTODO pay rent", "URGENT TODO fix login\nTODO pay rent", null],
    ["an item ticked, an item added above it: a conflict, never the tick on the new item", "- [ ] buy milk\n- [ ] pay rent", "- [ ] buy milk\n- [ ] call Bob\n- [ ] pay rent", "- [ ] buy milk\n- [x] pay rent", null],
  ];
  test.each(cases)("%s", (_name, base, local, remote, expected) => {
    const forward = mergeText(base, local, remote);
    const backward = mergeText(base, remote, local);
    expect(forward).toEqual(expected === null ? { ok: false } : { ok: true, text: expected });
    expect(backward).toEqual(forward);
  });
});

describe("mergeText on large texts", () => {
  const big = Array.from({ length: 10_000 }, (_, i) => `line ${i % 7} of the text`).join("\n");
  const withLine = (text: string, index: number, line: string) =>
    text.split("\n").map((l, i) => (i === index ? line : l)).join("\n");

  test("thousands of repeated lines merge (speed is measured in the bench, not here)", () => {
    const result = mergeText(big, withLine(big, 3, "edited by A"), withLine(big, 9_990, "edited by B"));
    expect(result).toEqual({ ok: true, text: withLine(withLine(big, 3, "edited by A"), 9_990, "edited by B") });
  });

  test(`a side with more than ${MAX_TEXT_EDITS} token edits is a conflict (bounded work)`, () => {
    const lines = big.split("\n").slice(0, MAX_TEXT_EDITS);
    const base = lines.join("\n");
    const rewritten = lines.map((l) => l.toUpperCase()).join("\n");
    expect(mergeText(base, rewritten, base + "\nappended")).toEqual({ ok: false });
    expect(mergeText(base, base + "\nappended", rewritten)).toEqual({ ok: false });
  });

  test("hundreds of thousands of short lines merge without overflowing", () => {
    const many = "a\n".repeat(150_000);
    expect(mergeText(many, "A\n" + many, many + "B")).toEqual({ ok: true, text: "A\n" + many + "B" });
  });

  test(`texts over ${MAX_TEXT_MERGE_CHARS} characters together are a conflict unless one side is unchanged`, () => {
    const huge = "word ".repeat(MAX_TEXT_MERGE_CHARS / 10);
    expect(mergeText(huge, "A " + huge, huge + "B")).toEqual({ ok: false });
    expect(mergeText(huge, "A " + huge, huge)).toEqual({ ok: true, text: "A " + huge });
  });
});

/** Texts that are costly to diff: few distinct words, every position changed (a QA pass's denial of service). */
const costlyText = (n: number, period: number, shift = 0) => Array.from({ length: n }, (_, i) => ((i + shift) % period ? "a" : "b")).join(" ");

describe("merge work budget", () => {
  const base = costlyText(2000, 2);
  const remote = costlyText(2000, 3);
  const local = costlyText(2000, 5, 1);

  test(`a text merge spends at most ${MAX_TEXT_MERGE_WORK} of a shared budget, the same whichever side is local`, () => {
    const one = { work: 10 * MAX_TEXT_MERGE_WORK };
    const two = { work: 10 * MAX_TEXT_MERGE_WORK };
    expect(mergeText(base, local, remote, one)).toEqual({ ok: false });
    expect(mergeText(base, remote, local, two)).toEqual({ ok: false });
    expect(one.work).toBe(9 * MAX_TEXT_MERGE_WORK);
    expect(two.work).toBe(one.work);
  });

  // Found by review: the grouping's checks once charged the budget in the order the hunks came in.
  test("a merge spends the same whichever side is local, so a nearly spent budget decides alike", () => {
    const spent = (o: string, a: string, b: string) => {
      const budget = { work: 1_000 };
      mergeText(o, a, b, budget);
      return budget.work;
    };
    expect(spent("p\nq", "S\nS", "P1\nQ1")).toBe(spent("p\nq", "P1\nQ1", "S\nS"));
    const [o, a, b] = ["x the b a a\nx x", "x the bthe\n a a\nx ", "x the b a a\na the x x"];
    for (let work = 0; work <= 120; work += 5) expect(mergeText(o, a, b, { work })).toEqual(mergeText(o, b, a, { work }));
  });

  // Found by a second review: the second side's diff was skipped when the first gave up on its edit limit.
  test("a side over the edit limit: the same work spent whichever side is local, so a later field decides alike", () => {
    const base = "Groceries\nmilk";
    const pasted = Array.from({ length: MAX_TEXT_EDITS + 100 }, (_, i) => `pasted line ${i}`).join("\n");
    const edited = "Groceries for the week\nmilk\n" + Array.from({ length: 450 }, (_, i) => `item ${i}`).join("\n");
    const one = { work: 1e9 };
    const two = { work: 1e9 };
    expect(mergeText(base, pasted, edited, one)).toEqual({ ok: false });
    expect(mergeText(base, edited, pasted, two)).toEqual({ ok: false });
    expect(one.work).toBe(two.work);
    const b = { description: base, title: "Weekly plan" };
    const d1 = { description: pasted, title: "Weekly plan draft" };
    const d2 = { description: edited, title: "Weekly team plan" };
    expect(mergeRecord(b, d1, d2, "task", { work: 5_600 }).conflicts).toEqual(mergeRecord(b, d2, d1, "task", { work: 5_600 }).conflicts);
  });

  test("two long edits one space apart cost what their diffs cost", () => {
    const budget = { work: MAX_PUSH_MERGE_WORK };
    expect(mergeText("p q", "z ".repeat(499) + "y q", "p w" + " u".repeat(499), budget)).toEqual({ ok: true, text: "z ".repeat(499) + "y w" + " u".repeat(499) });
    expect(MAX_PUSH_MERGE_WORK - budget.work).toBeLessThan(MAX_TEXT_MERGE_WORK / 10);
  });

  test("a merge that succeeds spends what its diffs cost, the same in either order", () => {
    const one = { work: 1_000 };
    const two = { work: 1_000 };
    expect(mergeText("one\ntwo\nthree", "ONE\ntwo\nthree", "one\ntwo\nTHREE", one)).toEqual({ ok: true, text: "ONE\ntwo\nTHREE" });
    expect(mergeText("one\ntwo\nthree", "one\ntwo\nTHREE", "ONE\ntwo\nthree", two)).toEqual({ ok: true, text: "ONE\ntwo\nTHREE" });
    expect(one.work).toBeLessThan(1_000);
    expect(two.work).toBe(one.work);
  });

  test("the texts' size is charged before they are read: with the budget spent, long texts are a conflict without being split or scanned", () => {
    const long = "word ".repeat(20_000) + "\n";
    const spent = { work: 0 };
    expect(mergeText(long, "A " + long, long + "B", spent)).toEqual({ ok: false });
    const ample = { work: MAX_TEXT_MERGE_WORK };
    expect(mergeText(long, "A " + long, long + "B", ample)).toEqual({ ok: true, text: "A " + long + "B" });
    expect(MAX_TEXT_MERGE_WORK - ample.work).toBeGreaterThanOrEqual(Math.ceil((3 * long.length + 3) / CHARS_PER_UNIT));
  });

  test("once the shared budget is spent, a text that needs a diff is a conflict; one side unchanged still merges", () => {
    const spent = { work: 0 };
    expect(mergeText("one\ntwo\nthree", "ONE\ntwo\nthree", "one\ntwo\nTHREE", spent)).toEqual({ ok: false });
    expect(mergeText("one\ntwo\nthree", "ONE\ntwo\nthree", "one\ntwo\nthree", spent)).toEqual({ ok: true, text: "ONE\ntwo\nthree" });
    expect(spent.work).toBe(0);
  });

  test("mergeRecord spends one budget across its text fields in name order, so the field left in conflict does not depend on which side is local", () => {
    // The description's merge spends the whole per-merge share; the title's then finds nothing left.
    const b = { title: "one two three", description: base };
    const l = { title: "ONE two three", description: local };
    const r = { title: "one two THREE", description: remote };
    for (const [x, y] of [[l, r], [r, l]]) {
      const budget = { work: MAX_TEXT_MERGE_WORK };
      expect(mergeRecord(b, x, y, "task", budget).conflicts).toEqual(["description", "title"]);
    }
    const ample = { work: 2 * MAX_TEXT_MERGE_WORK };
    const m = mergeRecord(b, l, r, "task", ample);
    expect(m.conflicts).toEqual(["description"]);
    expect(m.merged.title).toBe("ONE two THREE");
  });
});

describe("diffTokens", () => {
  /** Length of a longest common subsequence, by the textbook table. */
  function lcsLength(a: string[], b: string[]): number {
    const row = new Array(b.length + 1).fill(0);
    for (const x of a) {
      let diagonal = 0;
      for (let j = 1; j <= b.length; j++) {
        const above = row[j];
        row[j] = x === b[j - 1] ? diagonal + 1 : Math.max(row[j], row[j - 1]);
        diagonal = above;
      }
    }
    return row[b.length];
  }
  const tokensArb = fc.array(fc.constantFrom("a", "b", "c", "\n"), { maxLength: 30 });

  test("property: the hunks rebuild the target and are a minimal edit script", () => {
    fc.assert(
      fc.property(tokensArb, tokensArb, (o, x) => {
        const hunks = diffTokens(o, x)!;
        const rebuilt: string[] = [];
        let pos = 0;
        for (const h of hunks) {
          expect(h.start).toBeGreaterThanOrEqual(pos);
          rebuilt.push(...o.slice(pos, h.start), ...h.content);
          pos = h.end;
        }
        rebuilt.push(...o.slice(pos));
        expect(rebuilt).toEqual(x);
        const edits = hunks.reduce((sum, h) => sum + (h.end - h.start) + h.content.length, 0);
        expect(edits).toBe(o.length + x.length - 2 * lcsLength(o, x));
      }),
      { numRuns: 2000 },
    );
  });

  test("gives up (null) beyond the edit limit or the work budget", () => {
    const many = Array.from({ length: MAX_TEXT_EDITS + 1 }, (_, i) => `t${i}`);
    expect(diffTokens([], many)).toEqual([{ start: 0, end: 0, content: many }]); // trimmed, no search needed
    expect(diffTokens(["x", ...many.map((t) => t + "o"), "y"], ["x", ...many, "y"])).toBeNull();
    expect(diffTokens(["a", "b", "c"], ["a", "x", "c"], { work: 0 })).toBeNull();
    expect(diffTokens(["a", "b", "c"], ["a", "x", "c"], { work: 10 })).toEqual([{ start: 1, end: 2, content: ["x"] }]);
  });
});

describe("mergeTags", () => {
  const cases: [string, string[] | null, string[], string[], string[]][] = [
    ["adds from both, sorted", ["m"], ["m", "z"], ["m", "a"], ["a", "m", "z"]],
    ["removal by one side sticks", ["a", "b"], ["a"], ["a", "b", "c"], ["a", "c"]],
    ["removal by both", ["a", "b"], ["b"], ["b"], ["b"]],
    ["duplicates collapse", [], ["x", "x"], ["x"], ["x"]],
    ["no base: union", null, ["b"], ["a"], ["a", "b"]],
  ];
  test.each(cases)("%s", (_name, base, local, remote, expected) => {
    expect(mergeTags(base, local, remote)).toEqual(expected);
    expect(mergeTags(base, remote, local)).toEqual(expected);
  });
});

describe("deepEqual", () => {
  const eq: [unknown, unknown, boolean][] = [
    [1, 1, true],
    [null, null, true],
    [null, undefined, false],
    [0, "0", false],
    [[1, [2]], [1, [2]], true],
    [[1, 2], [2, 1], false],
    [{ a: 1, b: 2 }, { b: 2, a: 1 }, true],
    [{ a: 1, b: undefined }, { a: 1 }, true],
    [{ a: 1 }, { a: 1, b: null }, false],
    [[], {}, false],
    [{ a: { b: [1, { c: "x" }] } }, { a: { b: [1, { c: "x" }] } }, true],
  ];
  test.each(eq)("deepEqual(%p, %p) is %p", (x, y, expected) => {
    expect(deepEqual(x, y)).toBe(expected);
    expect(deepEqual(y, x)).toBe(expected);
  });
});

// ---- properties -------------------------------------------------------------

/** Applies character edits (position, deleted length, inserted text) to a string. */
function applyEdits(text: string, edits: { pos: number; del: number; ins: string }[]): string {
  let out = text;
  for (const e of edits) {
    const pos = out.length === 0 ? 0 : e.pos % (out.length + 1);
    out = out.slice(0, pos) + e.ins + out.slice(pos + e.del);
  }
  return out;
}

const textUnit = fc.constantFrom("a", "b", "c", " ", "\n", "xy");
const textArb = fc.array(textUnit, { maxLength: 24 }).map((units) => units.join(""));
const editsArb = fc.array(
  fc.record({ pos: fc.nat(), del: fc.integer({ min: 0, max: 3 }), ins: fc.array(textUnit, { maxLength: 3 }).map((u) => u.join("")) }),
  { maxLength: 3 },
);

/** Word/line-structured text: "w1 w2\nw3 ..." built from a small vocabulary, with repeats. */
const wordTextArb = fc
  .array(fc.tuple(fc.constantFrom("the", "fox", "dog", "a", "b"), fc.constantFrom(" ", "\n")), { maxLength: 12 })
  .map((pairs) => pairs.map(([w, s]) => w + s).join(""));

describe("properties", () => {
  test("text merge is symmetric on generated character edits", () => {
    let merged = 0;
    fc.assert(
      fc.property(textArb, editsArb, editsArb, (base, ea, eb) => {
        const a = applyEdits(base, ea);
        const b = applyEdits(base, eb);
        const ab = mergeText(base, a, b);
        expect(mergeText(base, b, a)).toEqual(ab);
        if (ab.ok) merged++;
      }),
      { numRuns: 2000 },
    );
    expect(merged).toBeGreaterThan(200); // the property must exercise real merges, not only conflicts
  });

  test("text merge is symmetric on generated word and line edits", () => {
    fc.assert(
      fc.property(wordTextArb, wordTextArb, wordTextArb, (base, a, b) => {
        expect(mergeText(base, b, a)).toEqual(mergeText(base, a, b));
      }),
      { numRuns: 1000 },
    );
  });

  test("edits to two different lines always both survive", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 8 }).chain((n) =>
          fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 }), fc.integer({ min: 0, max: n - 1 })),
        ),
        ([n, i, j]) => {
          fc.pre(i !== j);
          const base = Array.from({ length: n }, (_, k) => `line ${k}`);
          const a = base.map((l, k) => (k === i ? "changed by A" : l));
          const b = base.map((l, k) => (k === j ? "changed by B" : l));
          const expected = base.map((l, k) => (k === i ? a[k] : k === j ? b[k] : l)).join("\n");
          expect(mergeText(base.join("\n"), a.join("\n"), b.join("\n"))).toEqual({ ok: true, text: expected });
        },
      ),
    );
  });

  test("lines inserted by one side and a line edited elsewhere by the other both survive", () => {
    const scenario = fc.integer({ min: 3, max: 12 }).chain((n) =>
      fc.tuple(fc.constant(n), fc.uniqueArray(fc.integer({ min: 0, max: n }), { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: n - 1 })),
    );
    fc.assert(
      fc.property(scenario, ([n, insertBefore, edited]) => {
        fc.pre(!insertBefore.includes(edited) && !insertBefore.includes(edited + 1)); // never touching
        const base = Array.from({ length: n }, (_, k) => `line ${k}`);
        const withInserts = (ls: string[]) => ls.flatMap((l, k) => (insertBefore.includes(k) ? [`new ${k}`, l] : [l]));
        const tail = insertBefore.includes(n) ? [`new ${n}`] : [];
        const a = [...withInserts(base), ...tail];
        const b = base.map((l, k) => (k === edited ? "edited" : l));
        const expected = [...withInserts(b), ...tail].join("\n");
        expect(mergeText(base.join("\n"), a.join("\n"), b.join("\n"))).toEqual({ ok: true, text: expected });
        expect(mergeText(base.join("\n"), b.join("\n"), a.join("\n"))).toEqual({ ok: true, text: expected });
      }),
      { numRuns: 500 },
    );
  });

  // Found by QA (the table above). Distinct words: where a text repeats its lines or words, the diffs
  // can align an addition so differently that no rule sees it (docs/sync-design.md; bench/merge-fuzz.ts).
  test("the same text added by both writers at one place is never kept twice, whatever else each edited", () => {
    const vocabulary = ["the", "fox", "a", "b", "jumps", "over", "lazy", "dog", "red", "one", "two"];
    const scenario = fc.record({
      words: fc.uniqueArray(fc.constantFrom(...vocabulary), { minLength: 2, maxLength: 11 }).chain((ws) =>
        fc.tuple(...ws.map((w) => fc.tuple(fc.constant(w), fc.constantFrom(" ", " ", "\n")))),
      ),
      added: fc.constantFrom("ZZ ", "new line\n", "ZZ YY ", "n1\nn2\n"),
      at: fc.nat(),
      editA: fc.option(fc.tuple(fc.nat(), fc.constantFrom("A", "Q ", "\nq"))),
      editB: fc.option(fc.tuple(fc.nat(), fc.constantFrom("B", "R ", "\nr"))),
    });
    let merged = 0;
    fc.assert(
      fc.property(scenario, ({ words, added, at, editA, editB }) => {
        const tokens = words.map(([w, sep]) => w + sep);
        const gap = at % (tokens.length + 1);
        const withAdded = [...tokens.slice(0, gap), added, ...tokens.slice(gap)];
        const edit = (ts: string[], e: [number, string] | null) => {
          if (e === null) return ts.join("");
          const k = e[0] % ts.length;
          return ts.map((t, i) => (i === k && i !== gap ? e[1] + t : t)).join("");
        };
        const base = tokens.join("");
        const result = mergeText(base, edit(withAdded, editA), edit(withAdded, editB));
        if (result.ok) {
          merged++;
          const first = added.split(/\s/)[0];
          const count = (text: string) => text.split(/\s+/).filter((w) => w === first).length;
          expect(count(result.text)).toBe(count(base) + 1);
        }
      }),
      { numRuns: 3000 },
    );
    expect(merged).toBeGreaterThan(1000);
  });

  test("a merged text carries exactly one side's edits plus the other's append", () => {
    let merged = 0;
    fc.assert(
      fc.property(textArb, editsArb, (base, edits) => {
        const a = applyEdits(base, edits);
        const result = mergeText(base, a, base + "\n#end");
        if (result.ok) {
          merged++;
          expect(result.text).toBe(a + "\n#end");
        }
      }),
      { numRuns: 2000 },
    );
    expect(merged).toBeGreaterThan(500);
  });

  test("a merge with an unchanged side returns the other side", () => {
    fc.assert(
      fc.property(textArb, editsArb, (base, edits) => {
        const a = applyEdits(base, edits);
        expect(mergeText(base, a, base)).toEqual({ ok: true, text: a });
        expect(mergeText(base, base, a)).toEqual({ ok: true, text: a });
      }),
    );
  });

  const taskArb = fc.record({
    project_id: fc.constantFrom(null, "p1", "p2"),
    title: wordTextArb,
    description: textArb,
    status: fc.constantFrom(...Object.keys(STATUS_PRECEDENCE)),
    priority: fc.constantFrom(...Object.keys(PRIORITY_RANK)),
    due_date: fc.constantFrom(null, "2026-01-01", "2026-01-01T00:00:00.000Z", "2026-02-01", "2025-12-31T23:00:00Z"),
    tags: fc.uniqueArray(fc.constantFrom("a", "b", "c", "d"), { maxLength: 4 }),
    assignee_id: fc.constantFrom(null, "u1", "u2"),
  });

  /** A device's changes: a subset of fields, each with a fresh value (text fields edited from the base). */
  const changesArb = (base: Fields) =>
    fc
      .tuple(taskArb, fc.subarray(Object.keys(base)), editsArb)
      .map(([fresh, fields, edits]) =>
        Object.fromEntries(
          fields.map((f): [string, unknown] => [f, f === "description" ? applyEdits(base[f] as string, edits) : (fresh as Fields)[f]]),
        ),
      );

  const scenarioArb = taskArb.chain((base) => fc.tuple(fc.constant(base as Fields), changesArb(base), changesArb(base)));

  test("merge commutes: A's changes onto B's state equals B's changes onto A's state", () => {
    let clean = 0;
    fc.assert(
      fc.property(scenarioArb, ([base, changesA, changesB]) => {
        const stateA = { ...base, ...changesA };
        const stateB = { ...base, ...changesB };
        const ab = mergeRecord(base, changesA, stateB, "task");
        const ba = mergeRecord(base, changesB, stateA, "task");
        expect(ab.conflicts).toEqual(ba.conflicts);
        for (const field of Object.keys(base)) {
          if (ab.conflicts.includes(field)) {
            expect(ab.merged[field]).toEqual(stateB[field]); // the server keeps its value
            expect(ba.merged[field]).toEqual(stateA[field]);
          } else {
            expect(ab.merged[field]).toEqual(ba.merged[field]);
          }
        }
        if (ab.conflicts.length === 0) clean++;
      }),
      { numRuns: 2000 },
    );
    expect(clean).toBeGreaterThan(200);
  });

  // Text is left out: diff3 against the old base may align an already merged text differently
  // (e.g. base "fox", A "fox the", merged "the the" → "the the the"). Re-pushes never re-merge:
  // they are answered from the (device, change_id) record.
  test("non-text rules are idempotent: re-merging the same changes onto the result changes nothing", () => {
    const withoutText = (changes: Fields) => {
      const { title: _t, description: _d, ...rest } = changes;
      return rest;
    };
    fc.assert(
      fc.property(scenarioArb, ([base, allA, allB]) => {
        const changesA = withoutText(allA);
        const changesB = withoutText(allB);
        const first = mergeRecord(base, changesA, { ...base, ...changesB }, "task");
        fc.pre(first.conflicts.length === 0);
        const again = mergeRecord(base, changesA, first.merged, "task");
        expect(again.merged).toEqual(first.merged);
      }),
      { numRuns: 1000 },
    );
  });
});
