-- `feed.origin_device` becomes `feed.pushed_by_device` (the device that pushed exactly the row's
-- state, whose incremental pulls leave the row out): the same column under a name no earlier
-- build knows. Builds from before migration 0006 check no migration they do not know; started on a
-- database a newer build migrated, they wrote feed rows without the change a pull sends (never
-- sent) or moved a row without updating it (sent stale), while answering the write as done. Every
-- feed write and pull of theirs names this column, so now each fails and is rolled back instead.
ALTER TABLE feed RENAME COLUMN origin_device TO pushed_by_device;
