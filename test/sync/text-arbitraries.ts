/** Text generators shared by the pure merge tests (test/sync/merge.test.ts, test/sync/text-merge.test.ts). */
import fc from "fast-check";

/** Applies character edits (position, deleted length, inserted text) to a string. */
export function applyEdits(text: string, edits: { pos: number; del: number; ins: string }[]): string {
  let out = text;
  for (const e of edits) {
    const pos = out.length === 0 ? 0 : e.pos % (out.length + 1);
    out = out.slice(0, pos) + e.ins + out.slice(pos + e.del);
  }
  return out;
}

const textUnit = fc.constantFrom("a", "b", "c", " ", "\n", "xy");
export const textArb = fc.array(textUnit, { maxLength: 24 }).map((units) => units.join(""));
export const editsArb = fc.array(
  fc.record({ pos: fc.nat(), del: fc.integer({ min: 0, max: 3 }), ins: fc.array(textUnit, { maxLength: 3 }).map((u) => u.join("")) }),
  { maxLength: 3 },
);

/** Word/line-structured text: "w1 w2\nw3 ..." built from a small vocabulary, with repeats. */
export const wordTextArb = fc
  .array(fc.tuple(fc.constantFrom("the", "fox", "dog", "a", "b"), fc.constantFrom(" ", "\n")), { maxLength: 12 })
  .map((pairs) => pairs.map(([w, s]) => w + s).join(""));

/** Texts that are costly to diff: few distinct words, every position changed (a QA pass's denial of service). */
export const costlyText = (n: number, period: number, shift = 0) => Array.from({ length: n }, (_, i) => ((i + shift) % period ? "a" : "b")).join(" ");
