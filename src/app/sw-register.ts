/**
 * Register the app-shell service worker (static/sw.js) so the lab opens
 * offline once visited. Production builds only; failures are silent (the
 * lab works without it, only not offline).
 */
export function registerServiceWorker(base: string): void {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.register(`${base}sw.js`, { scope: base }).catch(() => undefined);
}
