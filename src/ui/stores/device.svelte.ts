/** The capability check: probed once on start, re-probed on request. */
import { probeDevice } from '../../../workers/device';
import { verdict, type Capability, type Verdict } from '../../app/capability';

class DeviceStore {
  cap = $state<Capability | null>(null);
  checking = $state(false);
  error = $state<string | null>(null);
  verdict = $derived<Verdict | null>(this.cap ? verdict(this.cap) : null);

  async check(): Promise<void> {
    this.checking = true;
    this.error = null;
    try {
      const report = await probeDevice();
      let storage: Capability['storage'] = null;
      if (navigator.storage?.estimate) {
        const est = await navigator.storage.estimate();
        const persisted = navigator.storage.persisted ? await navigator.storage.persisted() : null;
        storage = { quota: est.quota ?? 0, usage: est.usage ?? 0, persisted };
      }
      this.cap = {
        ...report,
        crossOriginIsolated: globalThis.crossOriginIsolated === true,
        storage,
        deviceMemoryGB: (navigator as Navigator & { deviceMemory?: number }).deviceMemory,
      };
    } catch (e) {
      this.error = `The check failed: ${(e as Error).message}`;
    } finally {
      this.checking = false;
    }
  }

  /** Ask the browser not to evict stored models and runs. */
  async persist(): Promise<void> {
    if (!navigator.storage?.persist) return;
    await navigator.storage.persist();
    await this.check();
  }
}

export const device = new DeviceStore();
