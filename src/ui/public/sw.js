/*
 * Parley's service worker: keeps the app itself (the page and its hashed assets) so that a reload
 * with the network or the serving peer down still opens it and shows the history from IndexedDB.
 * Navigations: network first, the cached page when offline. /assets/*: cache first (immutable).
 * /api/*: never cached. Registered only in secure contexts (https, localhost).
 */
const CACHE = 'parley-app-v1'

self.addEventListener('install', () => self.skipWaiting())
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()))

self.addEventListener('fetch', (event) => {
  const req = event.request
  const url = new URL(req.url)
  if (req.method !== 'GET' || url.origin !== self.location.origin) return
  if (url.pathname.startsWith('/api/')) return
  if (req.mode === 'navigate') {
    event.respondWith(
      fetch(req)
        .then(async (res) => {
          if (res.ok) await (await caches.open(CACHE)).put('/', res.clone())
          return res
        })
        .catch(async () => (await caches.match('/')) ?? Response.error()),
    )
  } else if (url.pathname.startsWith('/assets/')) {
    event.respondWith(
      caches.match(req).then(
        (hit) =>
          hit ??
          fetch(req).then(async (res) => {
            if (res.ok) await (await caches.open(CACHE)).put(req, res.clone())
            return res
          }),
      ),
    )
  }
})
