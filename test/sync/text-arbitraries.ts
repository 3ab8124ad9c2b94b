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

/** A word/line text as its words, each with the separator after it (a space or a line break). */
type WordPair = [word: string, separator: string];
const wordPairArb = fc.tuple(fc.constantFrom("the", "fox", "dog", "a", "b"), fc.constantFrom(" ", "\n"));

/** The words of a {@link wordTextArb}-like text, to be edited by {@link wordLineEditsArb}. */
export const wordPairsArb = fc.array(wordPairArb, { maxLength: 12 }) as fc.Arbitrary<WordPair[]>;

/** Edits of a word/line text, as a writer makes them: a word replaced, inserted or deleted, a line broken or joined. */
export const wordLineEditsArb = fc.array(
  fc.record({ kind: fc.constantFrom("replace", "insert", "delete", "break"), at: fc.nat(), pair: wordPairArb as fc.Arbitrary<WordPair> }),
  { minLength: 1, maxLength: 3 },
);

/** The text of `pairs`, with `edits` ({@link wordLineEditsArb}) applied when given. */
export function wordText(pairs: readonly WordPair[], edits: readonly { kind: string; at: number; pair: WordPair }[] = []): string {
  const out = pairs.map(([w, s]): WordPair => [w, s]);
  for (const e of edits) {
    if (e.kind === "insert" || out.length === 0) out.splice(e.at % (out.length + 1), 0, [e.pair[0], e.pair[1]]);
    else if (e.kind === "delete") out.splice(e.at % out.length, 1);
    else if (e.kind === "replace") out[e.at % out.length]![0] = e.pair[0];
    else out[e.at % out.length]![1] = out[e.at % out.length]![1] === " " ? "\n" : " ";
  }
  return out.map(([w, s]) => w + s).join("");
}
