/**
 * Several files as one zip (fflate, a maintained library): one download
 * instead of one per file. Pure: bytes in, bytes out; works in Node and the page.
 */
import { strToU8, zipSync, type Zippable } from 'fflate';

export interface ZipEntry {
  name: string;
  text: string;
}

/**
 * The files in one zip, under `folder/` when given (so unzipping makes that folder).
 * `mtime` fixes the files' dates (the same bytes for the same files); default now.
 */
export function zipFiles(files: readonly ZipEntry[], folder = '', mtime: Date = new Date()): Uint8Array {
  const prefix = folder ? `${folder.replace(/\/+$/, '')}/` : '';
  const entries: Zippable = {};
  for (const f of files) {
    const path = prefix + f.name;
    if (path in entries) throw new Error(`Two files named ${path}: a zip holds one of each.`);
    entries[path] = strToU8(f.text);
  }
  return zipSync(entries, { level: 6, mtime });
}
