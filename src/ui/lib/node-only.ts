/**
 * Stands in for Node-only modules (TCP, mDNS, the in-memory test transport, libsodium, the bulk
 * side channel, Noise's crypto on Node) in the browser bundle: src/net loads them only for the
 * `node` and `memory` profiles, never in a browser.
 */
function unavailable(): never {
  throw new Error('this module runs only on Node')
}
export const tcp = unavailable
export const mdns = unavailable
export const memory = unavailable
export const crypto_stream_salsa20_xor_ic = unavailable
export const BulkChannels = unavailable
export const nodeNoiseCrypto = unavailable
