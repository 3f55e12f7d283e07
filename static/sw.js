/*
 * Introspection Lab's service worker: keeps the app shell (HTML, scripts,
 * styles, the ONNX Runtime WASM files) so the lab opens offline once visited.
 * Only the files listed in precache-manifest.json (written by the build) are
 * served from here; everything else, model files above all, goes to the
 * network untouched (transformers.js keeps models in its own cache).
 * No analytics, no background sync, no requests of its own beyond the shell.
 */
const PREFIX = 'lab-shell-';
const scope = new URL(self.registration.scope);

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const res = await fetch(new URL('precache-manifest.json', scope), { cache: 'no-store' });
      if (!res.ok) throw new Error(`precache manifest: HTTP ${res.status}`);
      const manifest = await res.json();
      const cache = await caches.open(PREFIX + manifest.version);
      await cache.addAll(manifest.files.map((f) => new Request(new URL(f, scope), { cache: 'reload' })));
      await cache.put(new URL('precache-manifest.json', scope), new Response(JSON.stringify(manifest), { headers: { 'Content-Type': 'application/json' } }));
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const current = await currentCache();
      for (const name of await caches.keys()) if (name.startsWith(PREFIX) && name !== current) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

async function currentCache() {
  const names = (await caches.keys()).filter((n) => n.startsWith(PREFIX));
  for (const name of names.reverse()) {
    const cache = await caches.open(name);
    if (await cache.match(new URL('precache-manifest.json', scope))) return name;
  }
  return null;
}

let shell = null;
async function shellCache() {
  if (!shell) {
    const name = await currentCache();
    shell = name ? await caches.open(name) : null;
  }
  return shell;
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return;
  if (req.mode === 'navigate') {
    // The page: the network when it answers (updates arrive), else the stored shell.
    event.respondWith(
      fetch(req).catch(async () => (await (await shellCache())?.match(new URL('./', scope))) ?? Response.error()),
    );
    return;
  }
  event.respondWith(
    (async () => {
      const cache = await shellCache();
      const hit = cache && (await cache.match(req, { ignoreSearch: false }));
      return hit ?? fetch(req);
    })(),
  );
});
