/** Which view is shown, kept in the URL hash (#/models, #/results/run-…) so Back and reload work. */
export type View = 'models' | 'replicate' | 'experiment' | 'run' | 'results' | 'runs';

export const VIEWS: Array<{ id: View; label: string }> = [
  { id: 'models', label: 'Models' },
  { id: 'replicate', label: 'Replicate the paper' },
  { id: 'experiment', label: 'Experiment' },
  { id: 'run', label: 'Run' },
  { id: 'results', label: 'Results' },
  { id: 'runs', label: 'Runs library' },
];

function parse(hash: string): { view: View; runId: string | null } {
  const [, view, runId] = /^#\/(\w+)(?:\/(.+))?$/.exec(hash) ?? [];
  const v = VIEWS.find((x) => x.id === view)?.id ?? 'models';
  return { view: v, runId: runId ? decodeURIComponent(runId) : null };
}

class Router {
  view = $state<View>('models');
  runId = $state<string | null>(null);

  constructor() {
    if (typeof location === 'undefined') return;
    const p = parse(location.hash);
    this.view = p.view;
    this.runId = p.runId;
    addEventListener('hashchange', () => {
      const q = parse(location.hash);
      this.view = q.view;
      this.runId = q.runId;
    });
  }

  go(view: View, runId: string | null = null): void {
    const hash = `#/${view}${runId ? `/${encodeURIComponent(runId)}` : ''}`;
    this.view = view;
    this.runId = runId;
    if (location.hash !== hash) location.hash = hash;
  }
}

export const router = new Router();
