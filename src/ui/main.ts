import { mount } from 'svelte'
import App from './App.svelte'
import './app.css'
import { warmFormats } from './lib/format.ts'

const target = document.getElementById('app')
if (target === null) throw new Error('no #app element')
mount(App, { target })
// Off the path to the first rows: the locale data of the time formats loads while IndexedDB opens.
setTimeout(warmFormats, 0)

// The app opens offline too (history is in IndexedDB); only where service workers exist.
if (window.isSecureContext && 'serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').catch((err: unknown) => {
    document.documentElement.dataset.swError = String(err)
  })
}
