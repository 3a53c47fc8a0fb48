import { createLibp2pNet, type Libp2pNetInit } from '../../src/net/libp2p.ts'
import { createMemoryHub, type MemoryHubInit } from '../../src/net/memory.ts'
import type { Admission, PeerIdString, PeerNet } from '../../src/net/index.ts'
import { AdmissionRefusedError } from '../../src/net/errors.ts'
import { vi } from 'vitest'
import type { Logger } from '@libp2p/interface'

/** Options every implementation takes alike (a subset of `Libp2pNetInit` and `MemoryNetInit`). */
export interface SpawnInit {
  admission?: Admission
  networkKey?: Uint8Array
}

/** What the contract suite needs from an implementation. */
export interface PeerNetFactory {
  /** `n` started nets, each connected to every other. */
  setup(n: number): Promise<PeerNet[]>
  /** One more started net, connected to nobody; stopped by `teardown`. */
  spawn(init: SpawnInit): Promise<PeerNet>
  /** Stops every net `setup` and `spawn` made. */
  teardown(): Promise<void>
}

/**
 * A fake organisation for admission tests: a member's proof is `member:<name>`, valid while the
 * name is in `valid`. Records every verification.
 */
export class FakeOrg {
  readonly valid = new Set<string>()
  readonly verified: { peer: PeerIdString; proof: string }[] = []
  /** Refusals tell the refused peer this code and reason (else they say nothing). */
  reason: { code: number; reason: string } | undefined

  /** The admission of a member called `name` (valid unless `valid` is false). */
  member(name: string, valid = true): Admission {
    if (valid) this.valid.add(name)
    return {
      proof: () => text(`member:${name}`),
      verify: async (peer, proof) => {
        await Promise.resolve()
        const s = new TextDecoder().decode(proof)
        this.verified.push({ peer, proof: s })
        const ok = s.startsWith('member:') && this.valid.has(s.slice('member:'.length))
        if (!ok && this.reason !== undefined)
          throw new AdmissionRefusedError(this.reason.code, this.reason.reason)
        return ok
      },
    }
  }
}

/** Waits for a condition driven by network events; generous timeout, tight polling. */
export function until<T>(fn: () => T, timeout = 10_000): Promise<T> {
  return vi.waitFor(fn, { timeout, interval: 5 })
}

export function memoryHubFactory(init: MemoryHubInit = { autoFlush: true }): PeerNetFactory {
  let nets: PeerNet[] = []
  let hub = createMemoryHub({ ...init, autoConnect: false })
  return {
    async setup(n) {
      hub = createMemoryHub(init)
      nets = Array.from({ length: n }, () => hub.createNet())
      await Promise.all(nets.map((net) => net.start()))
      return nets
    },
    async spawn(spawnInit) {
      const net = hub.createNet(undefined, spawnInit)
      nets.push(net)
      for (const other of nets) if (other !== net) hub.disconnect(net.peerId, other.peerId)
      await net.start()
      return net
    },
    async teardown() {
      await Promise.all(nets.map((net) => net.stop()))
      nets = []
      hub = createMemoryHub({ ...init, autoConnect: false })
    },
  }
}

/** Real libp2p nets, fully meshed by explicit dials (mDNS stays off outside network namespaces). */
export function libp2pFactory(init: Libp2pNetInit): PeerNetFactory {
  let nets: PeerNet[] = []
  return {
    async setup(n) {
      nets = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          createLibp2pNet({ mdns: false, logPrefix: `p${i}`, ...init }),
        ),
      )
      await Promise.all(nets.map((net) => net.start()))
      await meshConnect(nets)
      return nets
    },
    async spawn(spawnInit) {
      const net = await createLibp2pNet({
        mdns: false,
        logPrefix: `s${nets.length}`,
        ...init,
        ...spawnInit,
      })
      nets.push(net)
      await net.start()
      return net
    },
    async teardown() {
      // One at a time: when both ends of a connection close it at once, libp2p waits 500 ms
      // (connection-manager stop timeout) before aborting it.
      for (const net of nets) await net.stop()
      nets = []
    },
  }
}

/** Dials every pair once and waits until everyone sees everyone. */
export async function meshConnect(nets: readonly PeerNet[]): Promise<void> {
  const dials: Promise<unknown>[] = []
  for (const [i, a] of nets.entries()) {
    for (const b of nets.slice(i + 1)) dials.push(a.dial(firstAddress(b)))
  }
  await Promise.all(dials)
  await until(() => {
    for (const net of nets)
      if (net.peers().length !== nets.length - 1) throw new Error('not meshed')
  })
}

export function firstAddress(net: PeerNet): string {
  const addr = net.addresses()[0]
  if (addr === undefined) throw new Error(`${net.peerId} has no address`)
  return addr
}

/** Deterministic pseudo-random bytes: the first `n` of the stream that `seed` starts. */
export function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n)
  let x = (seed * 2654435761) >>> 0 || 1
  for (let i = 0; i < n; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s)

export async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for await (const frame of it) out.push(frame)
  return out
}

/** Resolves with the error `p` rejects with; fails if it resolves. */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p
  } catch (err) {
    if (err instanceof Error) return err
    throw new Error(`rejected with a non-error: ${String(err)}`, { cause: err })
  }
  throw new Error('expected a rejection')
}

/** Fast byte equality for large buffers. */
export function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a !== undefined && b !== undefined && Buffer.from(a).equals(Buffer.from(b))
}

/** A libp2p `Logger` that prints nothing. */
export const silentLog = Object.assign(() => undefined, {
  error: () => undefined,
  trace: () => undefined,
  enabled: false,
  newScope: () => silentLog,
}) as unknown as Logger
