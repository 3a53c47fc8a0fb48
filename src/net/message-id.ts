import { sha256 } from '@noble/hashes/sha2.js'

const utf8 = new TextEncoder()

/**
 * Message id = sha256(topic ‖ 0x00 ‖ data), synchronous and browser-safe (no node:crypto).
 * Unsigned messages (`StrictNoSign`) carry no sequence number, so the id is content-derived:
 * identical payloads on one topic are one message (libp2p/universal-connectivity#29). The topic is
 * included so that equal bytes on two topics are two messages.
 */
export function messageId(topic: string, data: Uint8Array): Uint8Array {
  const t = utf8.encode(topic)
  const buf = new Uint8Array(t.byteLength + 1 + data.byteLength)
  buf.set(t, 0)
  buf.set(data, t.byteLength + 1)
  return sha256(buf)
}
