/** The one IndexedDB store of the page, opened on first use. */
import { IdbRunStore } from '../../app/idb-store';

let store: Promise<IdbRunStore> | null = null;

export function runStore(): Promise<IdbRunStore> {
  store ??= IdbRunStore.open().catch((e) => {
    store = null;
    throw new Error(`This browser's storage (IndexedDB) is not available, so runs cannot be saved: ${(e as Error).message}`);
  });
  return store;
}
