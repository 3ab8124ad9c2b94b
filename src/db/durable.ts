import { closeSync, fsyncSync, openSync } from "node:fs";

/**
 * Asks the kernel to put `path` (a file or a folder) on its disk before returning: a file's content, a
 * folder's entries (a new name in it). Until then a power cut may lose what was written, though every
 * read already sees it. Throws what fsync(2) says (EIO: the write never reached the disk).
 */
export function syncToDisk(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
