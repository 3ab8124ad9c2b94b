/** The CLI's listings line up in a terminal whatever the script of their cells (pure: no process spawned). */
import { expect, test } from "bun:test";
import { formatTable } from "../../cli/output";

test.each([
  ["ASCII", "acme"],
  ["CJK (two columns each)", "東京チーム"],
  ["emoji (two columns)", "🚀 launch"],
  ["combining accent (none)", "Cafe\u0301"],
])("%s: the next column starts at the same terminal column on every line", (_, name) => {
  const rows = [{ name, slug: "a" }, { name: "x", slug: "b" }];
  const text = formatTable(rows, [
    { header: "NAME", value: (r) => r.name },
    { header: "SLUG", value: (r) => r.slug },
  ]);
  const lines = text.trimEnd().split("\n");
  const starts = lines.map((line) => Bun.stringWidth(line.slice(0, line.lastIndexOf("  ") + 2)));
  expect(new Set(starts).size).toBe(1);
  expect(starts[0]).toBe(Math.max(4, Bun.stringWidth(name)) + 2);
});
