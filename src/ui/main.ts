import { mount } from 'svelte'
import App from './App.svelte'
import './app.css'

const target = document.getElementById('app')
if (target === null) throw new Error('no #app element')
mount(App, { target })

// The app opens offline too (history is in IndexedDB); only where service workers exist.
if (window.isSecureContext && 'serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').catch((err: unknown) => {
    document.documentElement.dataset.swError = String(err)
  })
}
