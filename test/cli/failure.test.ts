/** The one line a failed command prints (cli/failure.ts): never split, never a raw control character. */
import { expect, test } from "bun:test";
import { describeFailure } from "../../cli/failure";
import { DomainError } from "../../src/errors";

test.each([
  // Found by CLI QA: `users deactivate $'a\e[31m'` echoed the escape sequence to the terminal.
  [new DomainError("not_found", 'no user with email "a\u001b[31m"'), 'no user with email "a\\u001b[31m"'],
  [new Error("first line\n  second line"), "first line second line"],
  [new Error("a\u202ereversed"), "a\\u202ereversed"],
  ["plain\ttext", "plain\\u0009text"],
])("%p → %p", (err, line) => {
  expect(describeFailure(err)).toBe(line);
});
