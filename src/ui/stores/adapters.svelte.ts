/**
 * Models with a LoRA adapter (kept in this browser's settings) and the adapters picked from
 * disk (kept in its Cache Storage: they work offline and after a reload).
 */
import { adaptedKey, checkAdapter, storePickedAdapter, type ModelWithAdapter } from '../../app/adapters';
import { deleteStoredAdapter, listStoredAdapters, type StoredAdapter } from '../../../workers/adapter-files';
import { storedAdapterId } from '../../lib/adapters';
import type { AdapterRef } from '../../lib/experiment/spec';
import { readableError } from '../../lib/engine/types';
import { readList, writeJson } from '../../app/settings';

const KEY = 'lab.modelsWithAdapters';


class AdaptersStore {
  list = $state<ModelWithAdapter[]>(readList<ModelWithAdapter>(KEY).filter((m) => m && typeof m.base === 'string' && m.adapter?.id));
  stored = $state<StoredAdapter[]>([]);
  busy = $state(false);
  error = $state<string | null>(null);
  storedError = $state<string | null>(null);

  find(key: string): ModelWithAdapter | undefined {
    return this.list.find((m) => adaptedKey(m) === key);
  }

  /**
   * Add an adapter to a base model: from an id (Hugging Face, served folder) or files picked from
   * disk (stored first under `name`). The files are read and checked against the base model.
   */
  async add(base: { id: string; label: string }, source: { id: string } | { name: string; files: File[] }, scale = 1): Promise<ModelWithAdapter | null> {
    this.error = null;
    this.busy = true;
    try {
      let id: string;
      if ('files' in source) {
        const stored = await storePickedAdapter(source.name, source.files);
        id = stored.id;
        await this.refreshStored();
      } else {
        id = source.id.trim();
        if (!id) throw new Error('give a Hugging Face id or a folder served by this site');
      }
      const adapter: AdapterRef = scale === 1 ? { id } : { id, scale };
      const model = await checkAdapter(base.id, base.label, adapter);
      this.list = [model, ...this.list.filter((m) => adaptedKey(m) !== adaptedKey(model))];
      writeJson(KEY, this.list);
      return model;
    } catch (e) {
      this.error = `The adapter was not added: ${readableError(e)}`;
      return null;
    } finally {
      this.busy = false;
    }
  }

  remove(key: string): void {
    this.list = this.list.filter((m) => adaptedKey(m) !== key);
    writeJson(KEY, this.list);
  }

  async refreshStored(): Promise<void> {
    try {
      this.stored = await listStoredAdapters();
      this.storedError = null;
    } catch (e) {
      this.storedError = `Stored adapters could not be read: ${readableError(e)}`;
    }
  }

  /** Delete stored files; models that use them are removed from the list too. */
  async deleteStored(name: string): Promise<void> {
    try {
      await deleteStoredAdapter(name);
    } catch (e) {
      this.storedError = `Could not delete ${name}: ${readableError(e)}`;
    }
    const id = storedAdapterId(name);
    this.list = this.list.filter((m) => m.adapter.id !== id);
    writeJson(KEY, this.list);
    await this.refreshStored();
  }
}

export const adapters = new AdaptersStore();
