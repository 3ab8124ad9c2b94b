import { expect, test } from "bun:test";
import { preconditionOf } from "../../src/records/http";

test.each([
  [undefined, undefined, { version: undefined }],
  [undefined, 4, { version: 4 }],
  ['"3"', undefined, { ifMatch: [3], version: undefined }],
  ['W/"3"', 2, { ifMatch: [3], version: 2 }],
  ['"1", W/"3" ,"7"', undefined, { ifMatch: [1, 3, 7], version: undefined }],
  ["5", undefined, { ifMatch: [5], version: undefined }],
  ['"2", *', undefined, { ifMatch: "any", version: undefined }],
  ["*", undefined, { ifMatch: "any", version: undefined }],
  // Tags that name no version still make a lock, which no version satisfies (412).
  ["garbage", undefined, { ifMatch: [], version: undefined }],
  ['"03", "3, "x"', undefined, { ifMatch: [], version: undefined }],
  ["", undefined, { ifMatch: [], version: undefined }],
] as const)("If-Match %p with body version %p is the lock %p", (header, version, expected) => {
  expect(preconditionOf(header === undefined ? {} : { "if-match": header }, version)).toEqual(expected);
});
