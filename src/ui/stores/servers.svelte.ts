/** Connected model servers (OpenAI-compatible): their models and what they support; keys in memory unless remembered. */
import { readableError } from '../../lib/engine/types';
import { connectServer, readServers, writeServers, type ServerConnection } from '../../app/servers';

class ServersStore {
  list = $state<ServerConnection[]>(readServers());
  busy = $state(false);
  error = $state<string | null>(null);
  /** Keys given in this page, not remembered: gone with the tab. */
  private readonly keys = new Map<string, string>();

  keyFor = (baseUrl: string): string | undefined => this.keys.get(baseUrl) ?? this.list.find((s) => s.baseUrl === baseUrl)?.apiKey;

  async connect(url: string, apiKey: string, remember: boolean): Promise<ServerConnection | null> {
    this.busy = true;
    this.error = null;
    try {
      const c = await connectServer(url, apiKey || undefined);
      if (apiKey) this.keys.set(c.baseUrl, apiKey);
      const kept: ServerConnection = { ...c, ...(remember && apiKey ? { apiKey } : {}) };
      this.list = [kept, ...this.list.filter((s) => s.baseUrl !== c.baseUrl)];
      writeServers(this.list);
      return c;
    } catch (e) {
      this.error = readableError(e);
      return null;
    } finally {
      this.busy = false;
    }
  }

  remove(baseUrl: string): void {
    this.keys.delete(baseUrl);
    this.list = this.list.filter((s) => s.baseUrl !== baseUrl);
    writeServers(this.list);
  }
}

export const servers = new ServersStore();
