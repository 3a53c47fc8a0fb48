/**
 * The browser peer: the one place that builds the browser's net. The page's own origin says which
 * Node peer served it; `/api/info` gives that peer's id, and the browser dials its web port over
 * WebSocket (`wss` when the page is https), then runs the same Messenger, gossip and sync as any
 * Node peer, on an IndexedDB store (signed entries) with its period documents persisted by
 * y-indexeddb. Nothing to configure.
 *
 * Other browsers are dialled directly over WebRTC through that peer as relay ({@link DirectLinks}).
 * Hashing and signature checks of catch-ups run in a Web Worker ({@link createOffloadCrypto}).
 */
import { settingOrCreate } from './store.ts'
import { createLogger } from '../net/logger.ts'
import { createNobleSigner, createWebCrypto } from '../crdt/crypto.ts'
import { createOffloadCrypto, deferredPort } from './crypto-offload.ts'
import { Messenger } from './messenger.ts'
import { ParleyClient } from './client.ts'
import { DirectLinks } from './direct-links.ts'
import { openIdbStore } from './idb-store.ts'
import { IdbChunkStore } from './idb-chunk-store.ts'
import { createIdbDocs } from '../crdt/idb-docs.ts'
import { DeferredNet } from '../net/deferred.ts'
import type { PeerIdString, PeerNet } from '../net/index.ts'
import { performanceTrace } from './trace.ts'
import type { UnlockedAccount } from './accounts.ts'
import { openMemberOrg, redeemInto } from './org-member.ts'
import { wireOrg } from './org-wiring.ts'
import { linkInto } from './org-device.ts'
import { ORG_SETTING, loadOrgSettings } from './org-settings.ts'
import { LOCAL_SETTINGS } from './local-state.ts'
import {
  OpenElsewhereError,
  afterFirstPaint,
  exclusive,
  fetchInfo,
  servingAddress,
  type PageOrigin,
  type ServingInfo,
} from './browser-page.ts'

const log = createLogger('parley:core:browser')

export interface BrowserClientInit {
  account: UnlockedAccount
  page: PageOrigin
  /**
   * An invitation code to redeem for this account (sign-up): the account becomes a member of its
   * org before the node starts. Ignored when the account already belongs to an org.
   */
  invite?: string
  /**
   * A device link code (another device of this account's user made it): this new device's own
   * certificate for that user is stored before the node starts. Ignored once the store has an org.
   */
  link?: string
  /** Fetches `/api/info` of the page's origin. @default `fetch('/api/info')` */
  fetchInfo?: () => Promise<ServingInfo>
  idb?: IDBFactory
}

export interface BrowserSession {
  client: ParleyClient
  /** The address of the serving peer, once known. */
  peerAddress: string | undefined
  /**
   * Starts the libp2p node now rather than after the first room is painted (a new account must
   * reach a peer to claim its user ID); resolves once it started (or failed to: logged).
   */
  startNetwork(): Promise<void>
  /** Dials the serving peer now (on the browser's `online` event, say). */
  redial(): void
  stop(): Promise<void>
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const enc = new TextEncoder()
const dec = new TextDecoder()

/**
 * Opens the account's history, starts its libp2p node and messenger, and dials the serving peer.
 * Works offline: the address of the last peer reached is remembered, and history shows at once.
 * Throws {@link OpenElsewhereError} while another tab has the account open.
 */
export async function startBrowserClient(init: BrowserClientInit): Promise<BrowserSession> {
  const release = await exclusive(`parley:${init.account.author}`)
  if (release === undefined) throw new OpenElsewhereError()
  try {
    return await start(init, release)
  } catch (err) {
    release()
    throw err
  }
}

async function start(init: BrowserClientInit, release: () => void): Promise<BrowserSession> {
  const { account } = init
  const info = (init.fetchInfo ?? fetchInfo)()
  info.catch(() => undefined) // read below
  const history = `parley-history-${account.author}`
  // Shared files, chunk by chunk, as Blobs on disk (src/core/idb-chunk-store.ts): opened while
  // the history store opens.
  const opening = IdbChunkStore.open({
    name: `${history}-files`,
    ...(init.idb === undefined ? {} : { idb: init.idb }),
  })
  opening.catch(() => undefined) // awaited below
  let store: Awaited<ReturnType<typeof openIdbStore>>
  let files: IdbChunkStore
  try {
    // Every setting read before the first paint, in one read as the store opens.
    store = await openIdbStore(history, init.idb, {
      prefetch: ['net/bootstrap', 'net/peer-id', 'net/key', ORG_SETTING, ...LOCAL_SETTINGS],
    })
  } catch (err) {
    await (await opening.catch(() => undefined))?.close()
    throw err
  }
  try {
    files = await opening
  } catch (err) {
    await store.close()
    throw err
  }
  performance.mark('parley:store-open')
  // Org records are checked on this thread as the page loads: by WebCrypto's Ed25519, not noble,
  // whose first check builds its base-point tables (40–70 ms before the first paint, measured).
  const orgCrypto = createWebCrypto()
  // A new linked device: its own certificate for its user goes into the store before the node
  // starts (a store that already belongs to an org keeps it).
  if (init.link !== undefined && (await loadOrgSettings(store)) === undefined) {
    try {
      await linkInto(store, orgCrypto, init.link, createNobleSigner(account.secretKey))
    } catch (err) {
      await files.close()
      await store.close()
      throw err
    }
  }
  // Period documents persist themselves with y-indexeddb, one database each (`<history>/<room>/<period>`).
  const docs = createIdbDocs({
    prefix: history,
    onError: (err) => log.error('stored document unusable, rebuilt from entries: %e', err),
  })
  const served = await servingAddress(store, init.page, info)
  const fresh = served.fresh
  let addr = served.addr
  performance.mark('parley:info')
  // libp2p is a chunk of its own (the first bundle is smaller). Once this browser has run, its
  // peer id is remembered and the Messenger starts on a DeferredNet: the chunk is loaded and the
  // node made after the first paint, so neither is on a reload's path to its history. A first run
  // loads it now (the key is made there).
  // The org this account is a member of (redeeming the sign-up's invitation first): its admission
  // proof on every connection, its network key, and its certificate check on every entry.
  const signer = createNobleSigner(account.secretKey, account.publicKey)
  if (init.invite !== undefined && (await openMemberOrg(store, orgCrypto, signer)) === undefined)
    await redeemInto(store, orgCrypto, init.invite, { ...account, signer })
  const org = await openMemberOrg(store, orgCrypto, signer)
  // (our proof binds the node's peer id: asked for only once the node runs)
  const wiring = org === undefined ? undefined : wireOrg(org, () => net.peerId)
  const makeNet = async (): Promise<PeerNet> => {
    const { createLibp2pNet, generateNetKey } = await import('../net/libp2p.ts')
    const privateKey = await settingOrCreate(store, 'net/key', generateNetKey)
    const made = await createLibp2pNet({
      transports: 'browser',
      privateKey,
      bootstrap: addr === undefined ? [] : [addr],
      ...(wiring === undefined
        ? {}
        : { admission: wiring.admission, networkKey: wiring.networkKey }),
    })
    if (dec.decode((await store.getSetting('net/peer-id')) ?? new Uint8Array()) !== made.peerId)
      await store.putSetting('net/peer-id', enc.encode(made.peerId))
    performance.mark('parley:net-created')
    return made
  }
  const knownId = await store.getSetting('net/peer-id')
  const deferred =
    knownId === undefined || (await store.getSetting('net/key')) === undefined
      ? undefined
      : new DeferredNet(dec.decode(knownId) as PeerIdString)
  const net: PeerNet = deferred ?? (await makeNet())
  // Catch-up hashing and signature checks run in a worker, off the thread that paints. Nothing
  // before the first paint needs it: it starts after it (or at its first use, if sooner).
  const worker = deferredPort(
    () => new Worker(new URL('./crypto-worker.ts', import.meta.url), { type: 'module' }),
  )
  const crypto = createOffloadCrypto({ connect: () => worker })
  const messenger = new Messenger({
    net,
    store,
    signer,
    crypto,
    name: account.name,
    docs,
    // IndexedDB clones each row on this thread: ~0.1 ms a row, so 256 rows a write stays a short task.
    ingestBatch: 256,
    files,
    // Per-message stage marks (parley:msg:*), read by bench/browser.ts and shown in DevTools.
    trace: performanceTrace(),
    ...(wiring === undefined ? {} : { gate: wiring.gate }),
  })
  // Local-first: the messenger and client start on the stopped node (subscriptions and handlers
  // attach when it starts; presence is not announced while no peer is connected), so the open room
  // is read from IndexedDB and painted without waiting for the network. Before that paint only the
  // room shown opens (the client reads its summary); the other rooms, the directories and the
  // unread counts follow once it has been painted (see afterFirstPaint), and then the node starts
  // (it serves and syncs every room), or all at once when asked (startNetwork).
  const client = new ParleyClient({
    messenger,
    store,
    account,
    fileBlob: (id, type) => files.fileBlob(id, type),
    ...(org === undefined ? {} : { org }),
  })
  // The org's room and the room shown load at once: each is a chain of IndexedDB reads.
  const [orgRoom] = await Promise.all([wiring?.attach(messenger), client.openShown()])
  await messenger.start({ lazy: true })
  performance.mark('parley:messenger-started')
  await client.startShown()
  performance.mark('parley:client-started')
  // Direct WebRTC links to other browsers, signalled through the serving peer as relay.
  const links = new DirectLinks({ net, presence: messenger.presence, relay: () => addr })
  let stopped = false
  // Removed from the org (an admin revoked us): every peer cuts us off, and a WebRTC link's far
  // end may take a while to notice, so the node stops here at once. History stays readable.
  const removed = (): boolean => client.org?.org().removed === true
  const offRemoved = org?.onChange(() => {
    if (!removed()) return
    links.stop()
    net.stop().catch((err: unknown) => log('stopping after removal: %e', err))
  })
  let startNow: () => void = () => undefined
  const asked = new Promise<void>((resolve) => (startNow = resolve))
  const held = Promise.race([afterFirstPaint(client.firstRead), asked]).then(async () => {
    if (stopped) return
    worker.start()
    await messenger.openHeld()
    performance.mark('parley:rooms-open')
  })
  // A room that does not open is logged; the others, and the network, go on without it.
  const opened = held.catch((err: unknown) => log.error('a stored room did not open: %e', err))
  const rest = opened
    .then(() => (stopped ? undefined : client.startRest()))
    .catch((err: unknown) => log.error('loading the rooms after the first paint failed: %e', err))
  const netStarted = opened.then(async () => {
    if (stopped || removed()) return
    try {
      if (deferred !== undefined) {
        // The serving peer's current address, if it answers soon, is the node's bootstrap.
        addr = await Promise.race([fresh.catch(() => addr), sleep(1_000).then(() => addr)])
        const made = await makeNet()
        if (stopped) return await made.stop()
        deferred.attach(made)
      }
      await net.start()
      performance.mark('parley:net-started')
      if (!stopped) links.start()
    } catch (err) {
      log.error('network did not start; history stays readable: %e', err)
      return
    }
    // The serving peer answered with another address than the remembered one: dial that too.
    const now = await fresh.catch(() => addr)
    if (now !== undefined && now !== addr && !stopped) {
      addr = now
      net.dial(now).catch((err: unknown) => log('dial of %s failed: %e', now, err))
    }
  })
  return {
    client,
    get peerAddress() {
      return addr
    },
    startNetwork() {
      startNow()
      return netStarted
    },
    redial() {
      if (addr !== undefined && net.peers().length === 0 && !removed())
        net.dial(addr).catch((err: unknown) => log('redial failed: %e', err))
    },
    async stop() {
      stopped = true
      offRemoved?.()
      await netStarted
      await rest
      links.stop()
      orgRoom?.stop()
      await client.stop()
      await messenger.stop()
      await net.stop()
      await store.close()
      crypto.close()
      await files.close()
      release()
    },
  }
}
