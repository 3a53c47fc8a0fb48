/**
 * Admission of peers on libp2p: who may use a connection. A peer is *admitted* once we have
 * verified its proof and it has accepted ours (admit-protocol.ts, run when its first connection
 * opens, either direction). Until then everything above the net ignores it: the peer list, gossip
 * (gated-registrar.ts keeps gossipsub from even seeing it), sync requests both ways.
 *
 * Per peer, not per connection: Noise (or DTLS + Noise for WebRTC) authenticates the peer id on
 * every connection, so a second connection (relay, WebRTC, WS) of an admitted peer is admitted.
 * A peer not admitted within `ADMISSION_TIMEOUT_MS` is disconnected, and may come back at once: a
 * late proof is no offence (admission-strikes.ts; only a stranger timing out again and again is
 * blocked). One we refused, or that broke the protocol (oversized or malformed proof), is kept out
 * (connection gater: no dial, no inbound) for `ADMISSION_BLOCK_MS`, or until `readmitAll` finds
 * that its last proof now passes. State lives only while a peer is connected; the block list is
 * capped (`MAX_BLOCKED_PEERS`).
 */
import type { Connection, ConnectionGater, Libp2p, Logger, PeerId, Stream } from '@libp2p/interface'
import { ADMISSION_TIMEOUT_MS, ADMIT_PROTOCOL, MAX_UNADMITTED_CONNECTIONS } from './constants.ts'
import { AdmissionStrikes } from './admission-strikes.ts'
import { readProof, sendProof, sendVerdict } from './admit-protocol.ts'
import { asPeerIdString } from './keys.ts'
import { judge } from './judge.ts'
import { MemoryGate } from './memory-admission.ts'
import { callSafely } from './safe.ts'
import { ADMITTED, type Verdict } from './verdict.ts'
import type { Admission, AdmissionRefusal } from './index.ts'

interface PeerState {
  /** We verified its proof (kept in `proof` for `readmitAll`). */
  verified: boolean
  /** It accepted our proof. */
  accepted: boolean
  proof: Uint8Array | undefined
  /** The verification under way, if any: later proof streams wait for it (undefined: out of time). */
  verifying: Promise<Verdict | undefined> | undefined
  proofAttempts: number
  proving: boolean
  readonly stop: AbortController
  readonly deadline: ReturnType<typeof setTimeout>
}

export class AdmissionGate {
  readonly #admission: Admission
  readonly #log: Logger
  /** The block list and its expiry, shared with the memory hub's logic. */
  readonly #blocks: MemoryGate
  readonly #strikes = new AdmissionStrikes()
  readonly #peers = new Map<string, PeerState>()
  readonly #listeners = new Set<(peer: string) => void>()
  readonly #refusals = new Set<(refusal: AdmissionRefusal) => void>()
  /** Whether a peer is one of our bootstrap peers (never blocked for a late proof). */
  readonly #bootstrap: (peer: string) => boolean
  #node: Libp2p | undefined

  constructor(
    admission: Admission,
    log: Logger,
    bootstrap: (peer: string) => boolean = () => false,
  ) {
    this.#admission = admission
    this.#log = log
    this.#bootstrap = bootstrap
    this.#blocks = new MemoryGate(admission)
  }

  /** The gater parts that keep blocked peers out and cap an unadmitted peer's connections. */
  gater(): ConnectionGater {
    const blocked = (peer: PeerId): boolean => this.#blocks.blocks(asPeerIdString(peer.toString()))
    return {
      denyDialPeer: blocked,
      denyInboundEncryptedConnection: blocked,
      denyOutboundEncryptedConnection: blocked,
      denyInboundUpgradedConnection: (peer) => {
        if (this.isAdmitted(peer.toString())) return false
        const open = this.#node?.getConnections(peer).length ?? 0
        if (open < MAX_UNADMITTED_CONNECTIONS) return false
        this.#log('refusing connection %d from unadmitted %p', open + 1, peer)
        return true
      },
    }
  }

  async attach(node: Libp2p): Promise<void> {
    await node.handle(ADMIT_PROTOCOL, this.#onStream, {
      maxInboundStreams: 2,
      maxOutboundStreams: 2,
      runOnLimitedConnection: true,
    })
    this.#node = node
    node.addEventListener('connection:open', this.#onOpen)
    node.addEventListener('peer:disconnect', this.#onDisconnect)
    for (const conn of node.getConnections()) this.#track(conn)
  }

  async detach(): Promise<void> {
    const node = this.#node
    this.#node = undefined
    for (const peer of [...this.#peers.keys()]) this.#forget(peer)
    if (node === undefined) return
    node.removeEventListener('connection:open', this.#onOpen)
    node.removeEventListener('peer:disconnect', this.#onDisconnect)
    await node.unhandle(ADMIT_PROTOCOL)
  }

  isAdmitted(peer: string): boolean {
    const s = this.#peers.get(peer)
    return s !== undefined && s.verified && s.accepted
  }

  /** Whether we refused `peer` (or it sent no proof) recently: it is kept out for now. */
  isBlocked(peer: string): boolean {
    return this.#blocks.blocks(asPeerIdString(peer))
  }

  /** The open connections to `peer`. */
  connections(peer: string): Connection[] {
    return (this.#node?.getConnections() ?? []).filter((c) => c.remotePeer.toString() === peer)
  }

  /** Called with a peer id whenever that peer is admitted or loses its admission. */
  onChange(cb: (peer: string) => void): () => void {
    this.#listeners.add(cb)
    return () => this.#listeners.delete(cb)
  }

  /** Called whenever a peer refuses our proof, with the reason it gave (see `PeerNet.onRefused`). */
  onRefused(cb: (refusal: AdmissionRefusal) => void): () => void {
    this.#refusals.add(cb)
    return () => this.#refusals.delete(cb)
  }

  /**
   * Resolves true once `peer` is admitted, false if it is not connected, or is disconnected,
   * refused or still unadmitted when `signal` fires or the admission deadline passes.
   */
  async whenAdmitted(peer: string, signal?: AbortSignal): Promise<boolean> {
    if (this.isAdmitted(peer)) return true
    // Connected a moment ago: the connection may not have reached #track yet.
    for (const conn of this.#node?.getConnections() ?? [])
      if (conn.remotePeer.toString() === peer && !this.#peers.has(peer)) this.#track(conn)
    const state = this.#peers.get(peer)
    if (state === undefined || signal?.aborted === true) return false
    return new Promise((resolve) => {
      const done = (): void => {
        off()
        signal?.removeEventListener('abort', done)
        state.stop.signal.removeEventListener('abort', done)
        resolve(this.isAdmitted(peer))
      }
      const off = this.onChange((p) => {
        if (p === peer) done()
      })
      signal?.addEventListener('abort', done)
      state.stop.signal.addEventListener('abort', done)
    })
  }

  /** Forgets `peer`'s admission and closes its connections: it must prove itself again. */
  evict(peer: string, reason: string): void {
    this.#log('evicting %s: %s', peer, reason)
    this.#forget(peer)
    const node = this.#node
    if (node === undefined) return
    for (const conn of node.getConnections()) {
      if (conn.remotePeer.toString() === peer) conn.abort(new Error(`evicted: ${reason}`))
    }
  }

  /** Re-verifies admitted peers (evicting the refused) and blocked ones (unblocking the valid). */
  async readmitAll(): Promise<void> {
    const admitted = [...this.#peers].filter(([, s]) => s.verified)
    await Promise.all(
      admitted.map(async ([peer, s]) => {
        const signal = AbortSignal.timeout(ADMISSION_TIMEOUT_MS)
        const v = await this.#verify(peer, s.proof ?? new Uint8Array(0), signal)
        if (v?.admitted === true || this.#peers.get(peer) !== s) return
        // Out of time: it proves itself again on its next connection, unblocked.
        if (v === undefined) return this.evict(peer, 'not re-verified in time')
        this.#blocks.block(asPeerIdString(peer), s.proof)
        this.evict(peer, 'refused on re-verification')
      }),
    )
    await this.#blocks.recheck()
  }

  readonly #onOpen = (evt: CustomEvent<Connection>): void => this.#track(evt.detail)

  readonly #onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const peer = evt.detail.toString()
    const was = this.isAdmitted(peer)
    this.#forget(peer)
    if (was) this.#emit(peer)
  }

  /** A new connection: start the clock on a new peer, and prove ourselves if not done yet. */
  #track(conn: Connection): void {
    const peer = conn.remotePeer.toString()
    if (this.#blocks.blocks(asPeerIdString(peer))) {
      conn.abort(new Error('peer refused recently'))
      return
    }
    const state = this.#state(peer)
    if (!state.accepted && !state.proving) this.#prove(peer, state, conn)
  }

  #state(peer: string): PeerState {
    let state = this.#peers.get(peer)
    if (state !== undefined) return state
    state = {
      verified: false,
      accepted: false,
      proof: undefined,
      verifying: undefined,
      proofAttempts: 0,
      proving: false,
      stop: new AbortController(),
      deadline: setTimeout(() => this.#expire(peer), ADMISSION_TIMEOUT_MS),
    }
    this.#peers.set(peer, state)
    return state
  }

  #expire(peer: string): void {
    const state = this.#peers.get(peer)
    if (state === undefined || this.isAdmitted(peer)) return
    // Late is not refused (refused peers are blocked and gone already): the connection closes and
    // the peer may come back at once, unless it is a stranger that has struck out.
    if (!state.verified && this.#strikes.late(peer, this.#bootstrap(peer))) {
      this.#blocks.block(asPeerIdString(peer), undefined)
      this.evict(peer, 'no valid proof in time, again and again')
      return
    }
    this.evict(peer, state.verified ? 'did not accept our proof in time' : 'no valid proof in time')
  }

  #forget(peer: string): void {
    const state = this.#peers.get(peer)
    if (state === undefined) return
    clearTimeout(state.deadline)
    state.stop.abort()
    this.#peers.delete(peer)
  }

  #prove(peer: string, state: PeerState, conn: Connection): void {
    state.proving = true
    const signal = AbortSignal.any([state.stop.signal, AbortSignal.timeout(ADMISSION_TIMEOUT_MS)])
    Promise.resolve(this.#admission.proof())
      .then((proof) => sendProof(conn, proof, signal))
      .then((verdict) => {
        // told even when the refusing peer has cut us off already
        if (!verdict.admitted) this.#refused(peer, verdict)
        if (this.#peers.get(peer) !== state || !verdict.admitted) return
        state.accepted = true
        this.#settle(peer, state)
      })
      .catch((err: unknown) => {
        if (this.#peers.get(peer) !== state) return
        this.#log('proving ourselves to %s failed - %e', peer, err)
        // The connection may have gone while another stays: try once more on that one.
        state.proving = false
        const other = this.#node?.getConnections(conn.remotePeer).find((c) => c !== conn)
        if (other !== undefined && ++state.proofAttempts < 3) this.#prove(peer, state, other)
      })
  }

  readonly #onStream = (stream: Stream, conn: Connection): void => {
    const peer = conn.remotePeer.toString()
    if (this.#blocks.blocks(asPeerIdString(peer))) {
      stream.abort(new Error('refused'))
      return
    }
    const state = this.#state(peer)
    const signal = AbortSignal.any([state.stop.signal, AbortSignal.timeout(ADMISSION_TIMEOUT_MS)])
    readProof(stream, signal)
      .then(async (proof) => {
        // One verification per peer at a time; a repeated proof gets the verdict already reached.
        if (!state.verified) {
          state.verifying ??= this.#verify(peer, proof, signal).then((v) => {
            state.verifying = undefined
            if (v?.admitted === true) state.proof = proof
            return v
          })
        }
        const verdict = state.verified ? ADMITTED : await state.verifying
        if (this.#peers.get(peer) !== state) return
        // Not verified in time: no verdict to send (a refusal would stop the peer redialling us),
        // the admission deadline decides.
        if (verdict === undefined) return stream.abort(new Error('proof not verified in time'))
        await sendVerdict(stream, verdict, signal).catch((err: unknown) =>
          this.#log('sending admission verdict to %s failed - %e', peer, err),
        )
        if (verdict.admitted) {
          state.verified = true
          this.#settle(peer, state)
        } else this.#refuse(peer, proof)
      })
      .catch((err: unknown) => {
        stream.abort(err instanceof Error ? err : new Error(String(err)))
        if (this.#peers.get(peer) !== state) return
        // A stream cut by a closing connection (a relayed link replaced by WebRTC, say) is no
        // offence, nor is a proof still arriving when time runs out (AbortError: a sick link, or a
        // slow loris): the deadline still applies. Oversized or malformed proofs are.
        const name = err instanceof Error ? err.name : ''
        const offence = name === 'FrameTooLargeError' || name === 'InvalidFrameError'
        this.#log.error('bad admission stream from %s - %e', peer, err)
        if (offence) this.#refuse(peer, undefined)
      })
  }

  #verify(peer: string, proof: Uint8Array, signal: AbortSignal): Promise<Verdict | undefined> {
    return judge(this.#admission, asPeerIdString(peer), proof, signal, this.#log)
  }

  /** `peer` refused our proof: the reason (untrusted) goes to the log and the listeners. */
  #refused(peer: string, verdict: Verdict & { admitted: false }): void {
    if (verdict.dropped !== undefined)
      this.#log.error('%s refused our proof; its reason was dropped: %s', peer, verdict.dropped)
    else this.#log('%s refused our proof (%d: %s)', peer, verdict.code, verdict.reason)
    const refusal = { peer: asPeerIdString(peer), code: verdict.code, reason: verdict.reason }
    for (const cb of [...this.#refusals])
      callSafely(this.#log, 'refusal listener', () => cb(refusal))
  }

  #refuse(peer: string, proof: Uint8Array | undefined): void {
    this.#blocks.block(asPeerIdString(peer), proof)
    this.evict(peer, 'proof refused')
  }

  #settle(peer: string, state: PeerState): void {
    if (!state.verified || !state.accepted) return
    clearTimeout(state.deadline)
    this.#strikes.admitted(peer)
    this.#log('admitted %s', peer)
    this.#emit(peer)
  }

  #emit(peer: string): void {
    for (const cb of [...this.#listeners])
      callSafely(this.#log, 'admission listener', () => cb(peer))
  }
}
