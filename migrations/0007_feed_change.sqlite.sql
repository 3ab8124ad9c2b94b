-- SQLite's form of 0007_feed_change.sql (json_quote for to_json): each feed row carries the change a
-- pull sends, whole, instead of the record and clock texts a page's statement put it together from.
-- The table is built anew (an UPDATE of every row and two DROP COLUMNs rewrote it three times and
-- left it mostly empty pages), its rows in feed order.
CREATE TABLE feed_new (
  entity TEXT NOT NULL,
  entity_id TEXT NOT NULL,
  org_id TEXT NOT NULL,
  pos BIGINT NOT NULL,
  op TEXT NOT NULL,
  version INTEGER NOT NULL,
  origin_device TEXT,
  change TEXT,
  PRIMARY KEY (entity_id, entity)
);
INSERT INTO feed_new (entity, entity_id, org_id, pos, op, version, origin_device, change)
SELECT entity, entity_id, org_id, pos, op, version, origin_device,
  '{"entity":' || json_quote(entity) || ',"entity_id":' || json_quote(entity_id) || ',"op":' || json_quote(op) ||
  ',"record":' || record || ',"version":' || version || ',"vector_clock":' || vector_clock || '}'
FROM feed ORDER BY org_id, pos;
DROP TABLE feed;
ALTER TABLE feed_new RENAME TO feed;
CREATE INDEX feed_org_pos ON feed (org_id, pos);
