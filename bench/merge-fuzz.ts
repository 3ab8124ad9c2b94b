/**
 * How the text merge behaves on random concurrent edits (no server, no database): the figures
 * docs/sync-design.md quotes. Not part of `npm test` (the properties in test/sync/text-merge.test.ts are).
 *
 *   bun bench/merge-fuzz.ts [--cases N] [--seed S]
 *
 * - pairs: two random edits of one short text (words from a small vocabulary, so words repeat, as
 *   "the" does): how many merge;
 * - three writers: three random edits of one text merged the way the server does, one after the
 *   other into the text the earlier merges made, in all six orders: of the cases that merge
 *   without a conflict in some order, how many do not in all orders, or end with another text;
 * - same addition: both sides add the same line (or word) at one place and each edits a random
 *   token anywhere else (a word put before it, the token deleted, its line split or joined to the
 *   next), in texts of distinct words and in texts that repeat words: how many merge, and how many of
 *   those keep the addition twice.
 */
import { parseArgs } from "node:util";
import { mergeText } from "../src/sync/text-merge";
import { Rng } from "./data";

const { values } = parseArgs({ args: process.argv.slice(2), options: { cases: { type: "string" }, seed: { type: "string" } } });
const CASES = Number(values.cases ?? 20_000);
const rng = new Rng(Number(values.seed ?? 1));

const VOCABULARY = ["a", "b", "c", "d", "e", "f", "g", "h", "the", "fox"];
const ORDERS = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];

/** 3–16 words, separated by spaces and now and then a line break. */
function randomText(): string {
  const n = 3 + rng.int(14);
  let text = "";
  for (let i = 0; i < n; i++) text += rng.pick(VOCABULARY) + (i === n - 1 ? "" : rng.pick([" ", " ", " ", "\n"]));
  return text;
}

/** One or two random insertions, replacements or deletions of words (and their separators). */
function randomEdit(text: string): string {
  const tokens = text.split(/(\s+)/).filter((t) => t !== "");
  for (let e = 1 + rng.int(2); e > 0; e--) {
    const i = rng.int(tokens.length + 1);
    const op = rng.next();
    if (op < 0.4) tokens.splice(i, 0, rng.pick(["X", "Y", "Z", "new line", "W"]) + rng.pick([" ", "\n"]));
    else if (tokens.length === 0) continue;
    else if (op < 0.7) tokens[Math.min(i, tokens.length - 1)] = rng.pick(["P", "Q", "R"]);
    else tokens.splice(Math.min(i, tokens.length - 1), 1);
  }
  return tokens.join("");
}

/** The server's text after the edits arrive in `order`: each merged into the previous result; a conflict keeps the text. */
function arrive(base: string, edits: string[], order: number[]): { text: string; conflict: boolean } {
  let text = edits[order[0]];
  let conflict = false;
  for (const k of order.slice(1)) {
    const r = mergeText(base, text, edits[k]);
    if (r.ok) text = r.text;
    else conflict = true;
  }
  return { text, conflict };
}

let pairsMerged = 0;
let cleanSomewhere = 0;
let orderDependent = 0;
for (let c = 0; c < CASES; c++) {
  const base = randomText();
  const edits = [randomEdit(base), randomEdit(base), randomEdit(base)];
  if (mergeText(base, edits[0], edits[1]).ok) pairsMerged++;
  const outcomes = ORDERS.map((order) => arrive(base, edits, order));
  const clean = outcomes.filter((o) => !o.conflict);
  if (clean.length === 0) continue;
  cleanSomewhere++;
  if (clean.length < ORDERS.length || new Set(clean.map((o) => o.text)).size > 1) orderDependent++;
}

/** One random edit of token `k` of `t`: a word put before it, the token deleted, its line split, or its separator removed (lines or words joined). */
function editToken(t: string[], k: number, mark: string): void {
  const op = rng.int(4);
  if (op === 0) t[k] = `${mark} ${t[k]}`;
  else if (op === 1) t[k] = "";
  else if (op === 2) t[k] = `\n${mark}${t[k]}`;
  else t[k] = t[k].trimEnd();
}

/** Both sides add `added` before token `gap` of `tokens`; each edits one random token anywhere but the added one. */
function sameAddition(tokens: string[], added: string, mark: string): { merged: boolean; twice: boolean } {
  const gap = rng.int(tokens.length + 1);
  const side = (name: string) => {
    const t = [...tokens.slice(0, gap), added, ...tokens.slice(gap)];
    const k = rng.int(t.length);
    if (k !== gap) editToken(t, k, name);
    return t.join("");
  };
  const r = mergeText(tokens.join(""), side("A"), side("B"));
  // As a whole word or line: a side that joined it to its neighbour (`kiloZZ`) added other text.
  const count = (text: string) => (mark.includes(" ") ? text.split("\n") : text.split(/\s+/)).filter((x) => x === mark).length;
  return { merged: r.ok, twice: r.ok && count(r.text) > 1 };
}

/** `n` words of the vocabulary, distinct (`distinct`) or drawn with repeats, each followed by a space or a line break. */
function words(n: number, distinct: boolean): string[] {
  const pool = distinct ? [...WORDS].sort(() => rng.next() - 0.5).slice(0, n) : Array.from({ length: n }, () => rng.pick(VOCABULARY));
  return pool.map((w) => w + rng.pick([" ", " ", "\n"]));
}
const WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"];

const same = { distinct: { cases: 0, merged: 0, twice: 0 }, repeated: { cases: 0, merged: 0, twice: 0 } };
for (let c = 0; c < CASES; c++) {
  for (const kind of ["distinct", "repeated"] as const) {
    const tokens = words(2 + rng.int(10), kind === "distinct");
    const r = rng.next() < 0.5 ? sameAddition(tokens, "inserted line\n", "inserted line") : sameAddition(tokens, "ZZ ", "ZZ");
    same[kind].cases++;
    same[kind].merged += Number(r.merged);
    same[kind].twice += Number(r.twice);
  }
}

const pct = (n: number, of: number) => `${((n / Math.max(of, 1)) * 100).toFixed(1)}%`;
console.log(`pairs: ${pairsMerged} of ${CASES} merge (${pct(pairsMerged, CASES)})`);
console.log(`three writers: ${cleanSomewhere} merge without a conflict in some order; ${orderDependent} of them not in all orders or to another text (${pct(orderDependent, cleanSomewhere)})`);
for (const kind of ["distinct", "repeated"] as const) {
  const x = same[kind];
  console.log(`same addition by both (a line or a word; ${kind} words): ${x.merged} of ${x.cases} merge, ${x.twice} keep it twice (${pct(x.twice, x.merged)})`);
}
