/**
 * What plain http answers on the web port to anyone but this machine itself: a page that says how
 * to trust the organisation's CA (with `/ca.crt` to download) and moves on to https by itself as
 * soon as this browser trusts it. A page from a LAN address over http is not a secure context
 * (no WebCrypto, no service worker), so the app itself is only ever served over https there.
 */

/** The host part of a Host header, if it is a plain host name or address (no markup). */
export function safeHost(header: string | undefined): string | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::\d+)?$/.exec(header ?? '')
  return m?.[1]
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

export interface TrustPageInit {
  /** `https://host:port/path` to go on to. */
  httpsUrl: string
  /** SHA-256 fingerprint of the CA, or undefined when the operator supplied the certificate. */
  fingerprint: string | undefined
}

export function trustPage({ httpsUrl, fingerprint }: TrustPageInit): string {
  const url = esc(httpsUrl)
  const origin = esc(new URL(httpsUrl).origin)
  const caPart =
    fingerprint === undefined
      ? `<p>This Parley peer uses a certificate supplied by your administrator. If your browser
  warns about it, ask them for the certificate authority to trust.</p>`
      : `<ol>
  <li><a href="/ca.crt" download="parley-ca.crt" data-testid="ca-link">Download the organisation's
    certificate</a> (<code>parley-ca.crt</code>) and check that its SHA-256 fingerprint is
    <code data-testid="fingerprint">${esc(fingerprint)}</code> — your administrator can confirm it.</li>
  <li>Trust it for websites, once per computer:
    <ul>
      <li><b>Windows</b> (Chrome, Edge): open the file → Install Certificate → Local Machine →
        Place all certificates in the following store → Trusted Root Certification Authorities.</li>
      <li><b>macOS</b> (Safari, Chrome): open the file, add it to the System keychain, then open it in
        Keychain Access → Trust → When using this certificate: Always Trust.</li>
      <li><b>Linux</b> (Chrome, Chromium): Settings → Privacy and security → Security → Manage
        certificates → Authorities → Import, and tick “Trust this certificate for identifying
        websites”.</li>
      <li><b>Firefox</b> (any system): Settings → Privacy &amp; Security → Certificates → View
        Certificates → Authorities → Import, and tick “Trust this CA to identify websites”.</li>
    </ul>
  </li>
  <li>Come back to this page: it opens Parley as soon as your browser trusts the certificate.</li>
</ol>`
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Parley — open it securely</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 42rem; margin: 3rem auto; padding: 0 1rem; }
  code { word-break: break-all; } .go { font-size: 1.1rem; } .muted { color: #666; }
  @media (prefers-color-scheme: dark) { body { background: #1a1d21; color: #ddd; } a { color: #8ab4f8; } .muted { color: #999; } }
</style></head>
<body data-testid="trust-page">
<h1>Parley opens over https</h1>
<p>Your browser reached this Parley peer over plain http, which browsers do not trust with the
cryptography Parley uses to protect your account. Parley is at
<a class="go" href="${url}" data-testid="https-link">${url}</a>.</p>
${caPart}
<p class="muted" id="status" data-testid="trust-status">Checking whether this browser trusts the
certificate…</p>
<script>
  // An https request fails with a TypeError while the certificate is not trusted.
  const status = document.getElementById('status')
  const go = () => location.replace(${JSON.stringify(httpsUrl)})
  async function check() {
    try {
      await fetch(${JSON.stringify(`${new URL(httpsUrl).origin}/api/info`)}, { mode: 'no-cors', cache: 'no-store' })
      status.textContent = 'Trusted: opening Parley…'
      go()
    } catch {
      status.textContent = 'Not trusted yet: follow the steps above (checking again every few seconds).'
      setTimeout(check, 3000)
    }
  }
  check()
</script>
<noscript><p>Then open <a href="${url}">${origin}</a>.</p></noscript>
</body></html>
`
}
