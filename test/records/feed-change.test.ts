/** A pull page keys its changes by record from their own first bytes (src/records/feed-json.ts). */
import { expect, test } from "bun:test";
import { changeText, recordOfChange } from "../../src/records/feed";

const bytes = (s: string) => new TextEncoder().encode(s);

test.each([
  ["task", "upsert", `{"id":"x","title":"${"é".repeat(200)}"}`],
  ["project", "delete", "{}"],
  ["comment", "upsert", `{"body":"\\"entity_id\\":\\"not this\\""}`],
] as const)("the record of a %s change (%s) is read from its start", (entity, op, record) => {
  const entityId = crypto.randomUUID();
  const text = changeText({ entity, entityId, op, version: 3, record, vectorClock: '{"d":1}' });
  expect(recordOfChange(bytes(text))).toBe(`${entity}:${entityId}`);
});

test("a change that does not start with its record is an error, not a guess", () => {
  expect(() => recordOfChange(bytes('{"op":"upsert","entity":"task","entity_id":"x"}'))).toThrow();
});
