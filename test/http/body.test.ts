import { expect, test } from "bun:test";
import fc from "fast-check";
import { jsonNestsDeeperThan } from "../../src/http/body";

const nest = (n: number, inner = "1") => "[".repeat(n) + inner + "]".repeat(n);

test.each([
  ["flat value", "1", 0, false],
  ["an object at the limit", '{"a": 1}', 1, false],
  ["an object over the limit", '{"a": {"b": 1}}', 1, true],
  ["arrays at the limit", nest(32), 32, false],
  ["arrays over the limit", nest(33), 32, true],
  ["siblings do not add up", `[${nest(5)}, ${nest(5)}, {"x": ${nest(4)}}]`, 6, false],
  ["brackets inside strings do not count", `{"title": "${"[".repeat(100)}{{{"}`, 1, false],
  ["an escaped quote does not end the string", `{"t": "\\"[[[[[[\\\\"}`, 1, false],
  ["after an escaped backslash the string ends", `{"t": "\\\\", "u": [[[1]]]}`, 3, true],
  ["a quote after an odd run of backslashes is escaped, after an even run it ends the string", `{"t": "a\\\\\\"[[", "u": "b\\\\\\\\", "v": [[1]]}`, 3, false],
  ["...and the brackets after the string count", `{"t": "a\\\\\\"[[", "u": "b\\\\\\\\", "v": [[[1]]]}`, 3, true],
  ["an unterminated string hides what follows", `{"t": "[[[[`, 1, false],
  ["very deep, still linear and without recursion", nest(2_000_000), 32, true],
] as const)("%s", (_name, text, limit, deeper) => {
  expect(jsonNestsDeeperThan(text, limit)).toBe(deeper);
});

/** The scan as first written, a character at a time: the reference the faster scan must agree with. */
function reference(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "[" || c === "{") {
      if (++depth > limit) return true;
    } else if (c === "]" || c === "}") depth--;
  }
  return false;
}

test("agrees with a character-by-character scan on any text of brackets, quotes and backslashes", () => {
  const text = fc.array(fc.constantFrom("[", "]", "{", "}", '"', "\\", "a", ","), { maxLength: 60 }).map((cs) => cs.join(""));
  fc.assert(fc.property(text, fc.integer({ min: 0, max: 6 }), (t, limit) => jsonNestsDeeperThan(t, limit) === reference(t, limit)), { numRuns: 5_000 });
});
