/**
 * A late admission proof is not a refused one ([ADML*], real libp2p nodes with Noise on the memory
 * transport, or TCP 127.0.0.1 beside a raw libp2p node): a peer whose proof arrives after `ADMISSION_TIMEOUT_MS` (held back by an honest
 * admission, as on a sick link) is disconnected but not kept out, and gets in on its next dial; a
 * peer whose proof is refused is still kept out. A stranger that keeps connecting without a proof:
 * admission.test.ts.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { ADMISSION_TIMEOUT_STRIKES } from '../../src/net/constants.ts'
import { encodeLength } from '../../src/net/frames.ts'
import { createLibp2pNet, type Libp2pNetInit } from '../../src/net/libp2p.ts'
import { readFrames } from '../../src/net/stream-io.ts'
import {
  ADMIT_PROTOCOL,
  MAX_PROOF_BYTES,
  type Admission,
  type AdmissionRefusal,
  type PeerNet,
} from '../../src/net/index.ts'
import { FakeOrg, collect, firstAddress, rejection, text, until } from './helpers.ts'

const MEMORY: Libp2pNetInit = { transports: 'memory' }
const TCP = { listen: ['/ip4/127.0.0.1/tcp/0'] } satisfies Libp2pNetInit

/** `payload` as one length-prefixed frame. */
function frame(payload: Uint8Array): Uint8Array {
  const length = encodeLength(payload.byteLength)
  const out = new Uint8Array(length.byteLength + payload.byteLength)
  out.set(length)
  out.set(payload, length.byteLength)
  return out
}

/**
 * `inner`, except that its first `late` proofs wait for `release()`: the peer proves itself
 * honestly, only too late. `asked` counts the proofs asked for (one per peer state: a new one
 * after a disconnect).
 */
function lateProofs(
  inner: Admission,
  late = 1,
): {
  admission: Admission
  asked: () => number
  release: () => void
} {
  let release = (): void => undefined
  const held = new Promise<void>((resolve) => (release = resolve))
  let asked = 0
  return {
    admission: {
      async proof() {
        if (++asked <= late) await held
        return inner.proof()
      },
      verify: (peer, proof, options) => inner.verify(peer, proof, options),
    },
    asked: () => asked,
    release: () => release(),
  }
}

describe('admission: late is not refused', () => {
  const nets: PeerNet[] = []
  const raws: Libp2p[] = []
  const releases: (() => void)[] = []
  afterEach(async () => {
    for (const release of releases.splice(0)) release()
    for (const raw of raws.splice(0)) await raw.stop()
    for (const net of nets.splice(0)) await net.stop()
  })
  async function net(init: Libp2pNetInit, transport: Libp2pNetInit = MEMORY): Promise<PeerNet> {
    const n = await createLibp2pNet({ mdns: false, ...transport, ...init })
    nets.push(n)
    await n.start()
    return n
  }
  function refusals(...of: PeerNet[]): AdmissionRefusal[] {
    const heard: AdmissionRefusal[] = []
    for (const n of of) n.onRefused((r) => heard.push(r))
    return heard
  }
  async function admitted(a: PeerNet, b: PeerNet): Promise<void> {
    await until(() => {
      expect(a.peers()).toEqual([b.peerId])
      expect(b.peers()).toEqual([a.peerId])
    })
  }

  it('[ADML1] the peer that serves us, its proof late again and again, is not kept out: our next redial gets it', async () => {
    const org = new FakeOrg()
    // late as many times in a row as would strike a stranger out
    const late = lateProofs(org.member('office'), ADMISSION_TIMEOUT_STRIKES)
    releases.push(late.release)
    const office = await net({ admission: late.admission })
    // A browser: it dials its serving peer as a bootstrap peer, and redials it when lost.
    const browser = await net({
      admission: org.member('browser'),
      bootstrap: [firstAddress(office)],
    })
    const heard = refusals(office, browser)
    // The office's proof never comes in time: the browser closes each connection
    // (ADMISSION_TIMEOUT_MS) and redials; the office proves itself on the last one.
    await until(() => expect(late.asked()).toBe(ADMISSION_TIMEOUT_STRIKES + 1), 45_000)
    await admitted(browser, office)
    expect(heard).toEqual([])
  })

  it('[ADML2] a peer that dialled us and whose proof trickled in too late is not kept out: its next dial gets in', async () => {
    const org = new FakeOrg()
    org.valid.add('laptop')
    const office = await net({ admission: org.member('office') }, TCP)
    const target = multiaddr(firstAddress(office))
    // A node without Parley's deadline of its own: what times out is the office alone.
    const laptop = await createLibp2p({
      addresses: { listen: [...TCP.listen] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify() },
    })
    raws.push(laptop)
    // it reads the office's proof and admits it
    await laptop.handle(ADMIT_PROTOCOL, async (stream) => {
      for await (const _ of readFrames(stream, { maxBytes: MAX_PROOF_BYTES })) void _
      stream.send(frame(Uint8Array.of(1)))
      await stream.close().catch(() => undefined)
    })
    const proof = frame(text('member:laptop'))

    // A sick link: the first bytes of its proof, then nothing before the office's deadline.
    const first = await laptop.dialProtocol(target, ADMIT_PROTOCOL)
    first.send(proof.subarray(0, 4))
    await until(() => {
      expect(
        laptop.getConnections().filter((c) => c.remotePeer.toString() === office.peerId),
      ).toEqual([])
    }, 20_000)

    // Its next connection is let in, and its proof, on time now, admits it.
    const again = await laptop.dialProtocol(target, ADMIT_PROTOCOL)
    again.send(proof)
    await again.close().catch(() => undefined)
    await until(() => expect(office.peers()).toEqual([laptop.peerId.toString()]))
  })

  it('[ADML3] a peer whose proof is refused is told so and kept out, even with a valid proof by now', async () => {
    const org = new FakeOrg()
    const office = await net({ admission: org.member('office') })
    const intruder = await net({ admission: org.member('intruder', false) })
    const heard = refusals(intruder)
    await intruder.dial(firstAddress(office)).catch(() => undefined)
    await until(() => expect(heard).toEqual([{ peer: office.peerId, code: 0, reason: '' }]))
    await until(() => expect(intruder.peers()).toEqual([]))

    // Kept out: its next connection is refused before its proof is looked at.
    org.valid.add('intruder')
    const looked = org.verified.filter((v) => v.proof === 'member:intruder').length
    await intruder.dial(firstAddress(office)).catch(() => undefined)
    expect((await rejection(collect(intruder.request(office.peerId, text('q'))))).name).toBe(
      'PeerUnreachableError',
    )
    expect(office.peers()).toEqual([])
    expect(org.verified.filter((v) => v.proof === 'member:intruder')).toHaveLength(looked)
  })

  it('[ADML4] a verification that runs out of time refuses nobody: the peer is not told so, nor kept out', async () => {
    const org = new FakeOrg()
    const member = org.member('office')
    let release = (): void => undefined
    const held = new Promise<void>((resolve) => (release = resolve))
    releases.push(release)
    let verifying = 0
    // The office's first verification takes longer than ADMISSION_TIMEOUT_MS (a busy verifier).
    const office = await net({
      admission: {
        proof: () => member.proof(),
        async verify(peer, proof, options) {
          if (++verifying === 1) await held
          return member.verify(peer, proof, options)
        },
      },
    })
    const laptop = await net({ admission: org.member('laptop'), bootstrap: [firstAddress(office)] })
    const heard = refusals(office, laptop)
    await until(() => expect(verifying).toBe(2), 30_000)
    await admitted(laptop, office)
    expect(heard).toEqual([])
  })
})
