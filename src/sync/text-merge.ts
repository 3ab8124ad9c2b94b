/**
 * Generic three-way text merge (diff3 by lines, then by words inside a conflicting region) with a
 * bounded cost: the rule of the text fields of src/sync/merge.ts. Pure module: no I/O; it imports
 * only jsdiff (the `diff` package) for the two-way diffs.
 *
 * Symmetric in (local, remote): swapping them gives the same text, or the same conflict, and spends
 * the same work.
 */

import { diffArrays, type ArrayChange } from "diff";

/** Texts longer than this together (base + local + remote, in UTF-16 units) are a conflict, not diffed. */
export const MAX_TEXT_MERGE_CHARS = 1_000_000;

/** A side that needs more token insertions + deletions than this (in one diff) makes its text a conflict. */
export const MAX_TEXT_EDITS = 1_000;

/**
 * Work one {@link mergeText} may spend; beyond it the text is a conflict. A unit is one token
 * comparison of a diff, one token of the part a diff must search (what is left once the common
 * start and end are cut off), or {@link CHARS_PER_UNIT} characters of the three texts (split into
 * lines and scanned, charged first). At 120–200 ns a unit here, a text merge holds the event loop a
 * few tens of milliseconds at most, while edits of a few places in a long text cost a few thousand units.
 */
export const MAX_TEXT_MERGE_WORK = 250_000;

/** Characters of the texts read per unit of work (splitting and scanning cost about 5–10 ns a character here). */
export const CHARS_PER_UNIT = 16;

/**
 * Work all the text merges of one push may spend together (about half a second here); once it is
 * spent, a text that needs a diff is a conflict. A push may carry 1,000 changes: without this,
 * one request of texts that are costly to diff held the event loop for minutes.
 */
export const MAX_PUSH_MERGE_WORK = 4_000_000;

/** Diff work left to spend, shared by the merges it is passed to. */
export type MergeBudget = { work: number };

/** The budget of one push's text merges ({@link MAX_PUSH_MERGE_WORK}). */
export const pushMergeBudget = (): MergeBudget => ({ work: MAX_PUSH_MERGE_WORK });

/** Result of {@link mergeText}. */
export type TextMerge = { ok: true; text: string } | { ok: false };

/**
 * Three-way text merge (diff3), symmetric in (local, remote): line-level first; regions where
 * lines conflict are retried word by word. Edits to different lines or words both survive;
 * edits that overlap or touch (e.g. a word and its neighbouring space) are a conflict, and so are
 * edits where the two diffs may have placed (or spelled) differently text both sides added at one
 * place ({@link joinsAcrossSeparators}), which would otherwise be kept twice, and a line broken in
 * two next to the other side's edit ({@link splitsLine}). Spends at
 * most {@link MAX_TEXT_MERGE_WORK} of `shared` (all it has when that is not enough: then a conflict).
 */
export function mergeText(base: string, local: string, remote: string, shared: MergeBudget = { work: Infinity }): TextMerge {
  if (local === remote || remote === base) return { ok: true, text: local };
  if (local === base) return { ok: true, text: remote };
  if (base.length + local.length + remote.length > MAX_TEXT_MERGE_CHARS) return { ok: false };
  // Spent the same in either order (the texts' size and the two sides' diffs: a sum), so the outcome is too.
  const budget: MergeBudget = { work: Math.min(MAX_TEXT_MERGE_WORK, shared.work) };
  const granted = budget.work;
  budget.work -= Math.ceil((base.length + local.length + remote.length) / CHARS_PER_UNIT);
  try {
    return budget.work < 0 ? { ok: false } : mergeWithin(base, local, remote, budget);
  } finally {
    shared.work -= granted - Math.max(budget.work, 0);
  }
}

/** {@link mergeText} once the trivial cases are out, within `budget`. */
function mergeWithin(base: string, local: string, remote: string, budget: MergeBudget): TextMerge {
  const regions = diff3(lines(local), lines(base), lines(remote), budget, true);
  if (regions === null) return { ok: false };
  const out: string[] = [];
  for (const region of regions) {
    if ("ok" in region) {
      append(out, region.ok, 0, region.ok.length);
      continue;
    }
    const [wa, wo, wb] = [wordTokens(region.a.join("")), wordTokens(region.o.join("")), wordTokens(region.b.join(""))];
    const words = diff3(wa, wo, wb, budget);
    if (words === null) return { ok: false };
    const merged: string[] = [];
    for (const w of words) {
      if (!("ok" in w)) return { ok: false };
      append(merged, w.ok, 0, w.ok.length);
    }
    if (repeatsAddedLine(region, lines(merged.join("")))) return { ok: false };
    append(out, merged, 0, merged.length);
  }
  return { ok: true, text: out.join("") };
}

/**
 * Whether the word-by-word merge of a region (`merged`, as lines) holds a line that both sides
 * added there more often than either side has it. Inside one region the two sides' edits are next
 * to each other, and where a text repeats itself the diffs can spell the same added line in ways no
 * grouping recognizes (an insertion on one side, a replacement of an equal line on the other): the
 * merge would keep it twice. A backstop: a conflict. (Counted by region, not over the whole text, so
 * the same line added at two different places, such as a `- done` under two headings, still merges.)
 */
function repeatsAddedLine(region: { a: string[]; o: string[]; b: string[] }, merged: string[]): boolean {
  const count = (tokens: readonly string[]) => {
    const n = new Map<string, number>();
    for (const t of tokens) if (!isSeparator(t, true)) n.set(t, (n.get(t) ?? 0) + 1);
    return n;
  };
  const [inBase, inA, inB] = [count(region.o), count(region.a), count(region.b)];
  for (const [line, n] of count(merged)) {
    const [o, a, b] = [inBase.get(line) ?? 0, inA.get(line) ?? 0, inB.get(line) ?? 0];
    if (a > o && b > o && n > Math.max(a, b)) return true;
  }
  return false;
}

type Region = { ok: string[] } | { a: string[]; o: string[]; b: string[] };
type Hunk = TokenHunk & { side: "a" | "b" };

/**
 * diff3 over token arrays (`lineLevel`: lines and line breaks, else words and whitespace): hunks of
 * `a` and `b` against `o` that overlap or touch form one region, and so do hunks with only separators
 * between them where the diffs, not the writers, chose the side an edit sits on ({@link joinsAcrossSeparators})
 * (word level: a side breaking a line next to the other's edit makes the whole a conflict); a
 * region changed by one side (or identically by both) takes that change, otherwise it is a
 * conflict. Only the set of hunks matters, so swapping `a` and `b` gives the same text.
 * Null when the inputs are too large or too different to diff cheaply (the caller's conflict).
 *
 * Why this grouping is ours and not a library's: the two-way diffs come from jsdiff (the
 * maintained `diff` package, {@link diffTokens}); what no maintained package gives in a usable,
 * bounded form is the diff3 step on top. node-diff3 (the usual choice) diffs with its own LCS,
 * which is pathological when tokens repeat (line breaks, common words): measured (node-diff3
 * 3.2, `diff3Merge` on line tokens) on a text of 7 distinct lines repeated, one edit on each side,
 * 1.3 s for 500 lines, 7.9 s for 1,000, 42 s for 2,000 (about N^2.6), and it takes no edit or
 * work limit, so one push with a long repetitive description could stall the server. The
 * grouping below only sorts and walks the hunks: it costs little next to the bounded diffs.
 */
function diff3(a: string[], o: string[], b: string[], budget: MergeBudget, lineLevel = false): Region[] | null {
  // Both diffs, even when the first gives up: what they spend is then the same whichever side is local.
  const hunksA = diffTokens(o, a, budget);
  const hunksB = diffTokens(o, b, budget);
  if (hunksA === null || hunksB === null) return null;
  // A word hunk that breaks one of the base's lines in two, next to an edit of the other side: one conflict.
  if (!lineLevel && ((splitsLine(o, hunksA) && hunksB.length > 0) || (splitsLine(o, hunksB) && hunksA.length > 0))) return [{ a, o, b }];
  const hunks: Hunk[] = [...hunksA.map((h) => ({ ...h, side: "a" as const })), ...hunksB.map((h) => ({ ...h, side: "b" as const }))];
  hunks.sort((x, y) => x.start - y.start || x.end - y.end);
  const regions: Region[] = [];
  let pos = 0;
  for (let i = 0; i < hunks.length; ) {
    const start = hunks[i].start;
    let end = hunks[i].end;
    let j = i + 1;
    for (; j < hunks.length && (hunks[j].start <= end || joinsAcrossSeparators(o, hunks, i, j, end, lineLevel)); j++) end = Math.max(end, hunks[j].end);
    const group = hunks.slice(i, j);
    const ca = applyHunks(o, start, end, group.filter((h) => h.side === "a"));
    const cb = applyHunks(o, start, end, group.filter((h) => h.side === "b"));
    const oc = o.slice(start, end);
    regions.push({ ok: o.slice(pos, start) });
    if (sameTokens(ca, oc) || sameTokens(ca, cb)) regions.push({ ok: cb });
    else if (sameTokens(cb, oc)) regions.push({ ok: ca });
    else regions.push({ a: ca, o: oc, b: cb });
    pos = end;
    i = j;
  }
  regions.push({ ok: o.slice(pos) });
  return regions;
}

/**
 * Whether the hunks starting at `hunks[j].start` join the group `hunks[i, j)` that ends at `end`
 * although separators lie between them (line breaks, or whitespace between words) and nothing else:
 * when a hunk of one side ending there and a hunk of the other starting there insert a word (a line,
 * at line level) in common. That is the same text added at one place, which the two diffs placed on
 * either side of the separators (or spelled as an insertion on one side and a replacement on the
 * other): kept apart, it would be applied twice; joined, the region is merged word by word, or is a
 * conflict. Every hunk starting there is looked at, whichever side it is from, so the grouping is the
 * same whichever side is local; the work is a scan of hunks the diffs were charged for.
 */
function joinsAcrossSeparators(o: readonly string[], hunks: Hunk[], i: number, j: number, end: number, lineLevel: boolean): boolean {
  const next = hunks[j].start;
  for (let k = end; k < next; k++) if (!isSeparator(o[k], lineLevel)) return false;
  for (let n = j; n < hunks.length && hunks[n].start === next; n++) {
    for (let k = i; k < j; k++) {
      if (hunks[k].end === end && hunks[k].side !== hunks[n].side && shareText(hunks[k].content, hunks[n].content, lineLevel)) return true;
    }
  }
  return false;
}

/** A line break (line tokens: `\n` or `\r\n`), or a run of whitespace (word tokens). */
function isSeparator(token: string, lineLevel: boolean): boolean {
  return lineLevel ? token === "\n" || token === "\r\n" : token.trim() === "";
}

/** Whether two hunks' contents have a word (a line, at line level) in common. */
function shareText(x: readonly string[], y: readonly string[], lineLevel: boolean): boolean {
  const words = new Set(x.filter((t) => !isSeparator(t, lineLevel)));
  return words.size > 0 && y.some((t) => words.has(t));
}

/**
 * Whether word hunks `hunks` put a line break inside a line of `o` (neither at its start nor at its
 * end): where one side added a whole line, the word diff may have aligned it with the start of the
 * line below (`- Call ` of a new item with `- Call ` of the old one) and spelled the rest as an
 * insertion in the middle of that line, so the other side's edit of that line would land on the new one.
 */
function splitsLine(o: readonly string[], hunks: readonly TokenHunk[]): boolean {
  const atLineStart = (k: number) => k === 0 || o[k - 1].includes("\n");
  const atLineEnd = (k: number) => k === o.length || o[k].includes("\n");
  return hunks.some((h) => h.content.some((t) => t.includes("\n")) && !atLineStart(h.start) && !atLineEnd(h.end));
}

/** One difference: `o[start, end)` is replaced by `content`. */
export interface TokenHunk {
  start: number;
  end: number;
  content: string[];
}

/** Thrown by the counting comparator to stop jsdiff when the work budget is spent. */
const OUT_OF_WORK = Symbol("out of work");

/**
 * A minimal diff turning token array `o` into `x`, as hunks, or null when it needs more than
 * {@link MAX_TEXT_EDITS} token insertions + deletions or exhausts `budget.work` (decremented by
 * the tokens left once the common start and end are cut off, and by every token comparison). The shortest edit script comes from jsdiff's
 * `diffArrays` (Myers' O(ND) algorithm) with `maxEditLength`; the common prefix and suffix are
 * trimmed first so a small edit in a long text costs a scan, and a counting comparator bounds the
 * remaining work deterministically (jsdiff's own `timeout` would make the result depend on the
 * machine's speed, and so could differ between two orders of the same merge). Used by
 * {@link mergeText}; exported for tests.
 */
export function diffTokens(o: readonly string[], x: readonly string[], budget: MergeBudget = { work: MAX_TEXT_MERGE_WORK }): TokenHunk[] | null {
  let pre = 0;
  while (pre < o.length && pre < x.length && o[pre] === x[pre]) pre++;
  let suf = 0;
  while (suf < o.length - pre && suf < x.length - pre && o[o.length - 1 - suf] === x[x.length - 1 - suf]) suf++;
  const om = o.slice(pre, o.length - suf);
  const xm = x.slice(pre, x.length - suf);
  if (om.length === 0 || xm.length === 0) {
    return om.length + xm.length === 0 ? [] : [{ start: pre, end: pre + om.length, content: xm }];
  }
  budget.work -= om.length + xm.length;
  if (budget.work < 0) return null;
  const comparator = (p: string, q: string): boolean => {
    if (--budget.work < 0) throw OUT_OF_WORK;
    return p === q;
  };
  let changes: ArrayChange<string>[] | undefined;
  try {
    changes = diffArrays(om, xm, { maxEditLength: MAX_TEXT_EDITS, comparator });
  } catch (error) {
    if (error === OUT_OF_WORK) return null;
    throw error;
  }
  if (changes === undefined) return null; // more than MAX_TEXT_EDITS edits
  // jsdiff gives runs of kept / removed / added tokens; a maximal run of removed and added ones is one hunk.
  const hunks: TokenHunk[] = [];
  let at = pre; // position in `o`
  let open: TokenHunk | null = null;
  for (const change of changes) {
    if (!change.added && !change.removed) {
      open = null;
      at += change.count;
      continue;
    }
    if (open === null) {
      open = { start: at, end: at, content: [] };
      hunks.push(open);
    }
    if (change.removed) {
      at += change.count;
      open.end = at;
    } else {
      append(open.content, change.value, 0, change.value.length);
    }
  }
  return hunks;
}

/** `o[start, end)` with the given hunks (sorted, inside that range) applied. */
function applyHunks(o: string[], start: number, end: number, hunks: Hunk[]): string[] {
  const out: string[] = [];
  let pos = start;
  for (const h of hunks) {
    append(out, o, pos, h.start);
    append(out, h.content, 0, h.content.length);
    pos = h.end;
  }
  append(out, o, pos, end);
  return out;
}

/** Pushes `items[from, to)` one by one (a spread would overflow the argument limit on long texts). */
function append(out: string[], items: readonly string[], from: number, to: number): void {
  for (let i = from; i < to; i++) out.push(items[i]);
}

function sameTokens(x: string[], y: string[]): boolean {
  return x.length === y.length && x.every((t, i) => t === y[i]);
}

/**
 * Lines and line breaks as separate tokens, so a changed line never touches its neighbours. A CRLF
 * (`\r\n`) is one line break, as `\n` is: a text with CRLF line breaks then merges as the same
 * text with LF ones (a line carrying its `\r`, and a blank line a `\r` token, hid the same line
 * added by both writers from {@link joinsAcrossSeparators}, which kept it twice).
 */
function lines(text: string): string[] {
  const out: string[] = [];
  for (let at = 0; at < text.length; ) {
    const nl = text.indexOf("\n", at);
    const crlf = nl > at && text.charCodeAt(nl - 1) === 13;
    const end = nl < 0 ? text.length : crlf ? nl - 1 : nl;
    if (end > at) out.push(text.slice(at, end));
    if (nl >= 0) out.push(crlf ? "\r\n" : "\n");
    at = nl < 0 ? text.length : nl + 1;
  }
  return out;
}

/** Words and whitespace runs as separate tokens; joining them gives the text back. */
function wordTokens(text: string): string[] {
  return text.split(/(\s+)/).filter((t) => t !== "");
}
