/**
 * Stands in for Node-only libp2p modules (TCP, mDNS, the in-memory test transport) in the browser
 * bundle: src/net loads them only for the `node` and `memory` profiles, never in a browser.
 */
function unavailable(): never {
  throw new Error('this libp2p module runs only on Node')
}
export const tcp = unavailable
export const mdns = unavailable
export const memory = unavailable
