/**
 * DirectLinks with a fake net and presence: which peers a browser dials over WebRTC through its
 * relay, the tie-break that keeps two browsers from dialling each other at once, and the backoff.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { DirectLinks } from '../../src/core/direct-links.ts'
import type { PresenceInfo } from '../../src/core/presence.ts'
import type { PeerConnectionInfo, PeerIdString } from '../../src/net/index.ts'

const id = (s: string): PeerIdString => s as PeerIdString
const RELAY = '/dns4/office/tcp/443/wss/p2p/relay'
const person = (peer: string, status: PresenceInfo['status'] = 'online'): PresenceInfo => ({
  author: `author-${peer}`,
  peer: id(peer),
  name: peer,
  status,
  lastSeen: 0,
  self: false,
})

function setup(people: PresenceInfo[], dial: (addr: string) => Promise<PeerIdString>) {
  let clock = 0
  const conns: PeerConnectionInfo[] = []
  const listeners = new Set<(l: readonly PresenceInfo[]) => void>()
  const dials: string[] = []
  const links = new DirectLinks({
    net: {
      peerId: id('m'),
      dial: (addr) => {
        dials.push(addr)
        return dial(addr)
      },
      connections: () => conns,
    },
    presence: {
      list: () => people,
      onChange: (cb) => {
        listeners.add(cb)
        return () => listeners.delete(cb)
      },
    },
    relay: () => RELAY,
    retryMinMs: 1_000,
    retryMaxMs: 4_000,
    now: () => clock,
  })
  return {
    links,
    dials,
    conns,
    emit: () => {
      for (const cb of listeners) cb(people)
    },
    advance: (ms: number) => (clock += ms),
  }
}

let stop: (() => void) | undefined
afterEach(() => {
  stop?.()
  stop = undefined
})

describe('DirectLinks', () => {
  it('[DL1] dials, through the relay, online peers with a larger id only', async () => {
    const people = [
      person('z'),
      person('a'), // smaller id: it dials us
      person('relay'),
      person('y', 'offline'),
      { ...person('m'), self: true },
    ]
    const t = setup(people, (addr) => Promise.resolve(id(addr.split('/p2p/').at(-1) ?? '')))
    t.links.start()
    stop = () => t.links.stop()
    expect(t.dials).toEqual([`${RELAY}/p2p-circuit/webrtc/p2p/z`])
  })

  it('[DL2] no second dial while one is in flight or once the link is direct', async () => {
    let finish: (v: PeerIdString) => void = () => undefined
    const t = setup([person('z')], () => new Promise((r) => (finish = r)))
    t.links.start()
    stop = () => t.links.stop()
    t.emit()
    expect(t.dials).toHaveLength(1)
    finish(id('z'))
    t.conns.push({ peer: id('z'), addrs: [`${RELAY}/p2p-circuit/webrtc/p2p/z`], kind: 'direct' })
    await vi.waitFor(() => {
      t.emit()
      expect(t.dials).toHaveLength(1)
    })
  })

  it('[DL3] a failed dial is retried after a backoff that doubles up to its cap', async () => {
    const t = setup([person('z')], () => Promise.reject(new Error('no ICE candidates')))
    t.links.start()
    stop = () => t.links.stop()
    const settle = () => new Promise((r) => setTimeout(r, 0))
    await settle()
    const retries: number[] = []
    for (let ms = 0; ms < 20_000; ms += 500) {
      t.advance(500)
      const before = t.dials.length
      t.emit()
      await settle()
      if (t.dials.length > before) retries.push(ms + 500)
    }
    // after 1 s, then 2 s, then every 4 s (the cap)
    expect(retries.slice(0, 5)).toEqual([1_000, 3_000, 7_000, 11_000, 15_000])
  })

  it('[DL4] nothing is dialled without a relay address, or after stop', () => {
    const t = setup([person('z')], () => Promise.resolve(id('z')))
    t.links.stop()
    t.emit()
    expect(t.dials).toEqual([])
  })
})
