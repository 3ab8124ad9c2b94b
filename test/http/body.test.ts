import { expect, test } from "bun:test";
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
  ["very deep, still linear and without recursion", nest(2_000_000), 32, true],
] as const)("%s", (_name, text, limit, deeper) => {
  expect(jsonNestsDeeperThan(text, limit)).toBe(deeper);
});
