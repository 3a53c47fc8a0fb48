/**
 * The office a sustained-load run builds (issue #6 §6), from a seed: which peers are always-on
 * hubs, who dials whom, and who is in which room. Pure: the driver (bench/load.ts) plays it.
 *
 * - Hubs (the always-on peers an office keeps) hold every room, write nothing, and dial each other.
 * - Every other peer is a person's device: in `general`, plus a few other rooms (every other room
 *   gets at least one member), and dials `hubLinks` hubs and `peerLinks` earlier devices — the few
 *   connections an office LAN settles on, rather than a full mesh.
 * - Devices write; the aggregate rate is shared evenly between them, each message in one of the
 *   writer's rooms chosen at random (seeded in the writer).
 */
import { seededPrng } from '../../test/helpers/prng.ts'

export interface LoadShape {
  peers: number
  rooms: number
  hubs: number
  /** Extra rooms each device is in, besides `general`. */
  roomsPerPeer: number
  hubLinks: number
  peerLinks: number
  seed: number
}

export interface LoadPlan {
  rooms: string[]
  /** Per peer (index = peer): the rooms it joins. */
  member: string[][]
  /** Per peer: the earlier peers it dials. */
  dials: number[][]
  hubs: number[]
  writers: number[]
}

export const GENERAL = 'general'

export function roomName(i: number): string {
  return i === 0 ? GENERAL : `room-${String(i).padStart(2, '0')}`
}

export function planLoad(s: LoadShape): LoadPlan {
  if (s.hubs < 1 || s.hubs >= s.peers) throw new RangeError('need 1 ≤ hubs < peers')
  if (s.rooms < 1) throw new RangeError('need at least one room')
  const rng = seededPrng(s.seed)
  const rooms = Array.from({ length: s.rooms }, (_, i) => roomName(i))
  const others = rooms.slice(1)
  const hubs = Array.from({ length: s.hubs }, (_, i) => i)
  const writers = Array.from({ length: s.peers - s.hubs }, (_, i) => s.hubs + i)
  const member: string[][] = []
  const dials: number[][] = []
  for (const h of hubs) {
    member[h] = [...rooms]
    dials[h] = hubs.filter((x) => x < h)
  }
  const extra = Math.min(s.roomsPerPeer, others.length)
  writers.forEach((w, k) => {
    // Round-robin first, so that every room has a member; then rooms at random.
    const mine = new Set<string>()
    if (extra > 0) mine.add(others[k % others.length]!)
    while (mine.size < extra) mine.add(rng.pick(others))
    member[w] = [GENERAL, ...[...mine].sort()]
    const targets = new Set<number>()
    const hubCount = Math.min(s.hubLinks, hubs.length)
    while (targets.size < hubCount) targets.add(rng.pick(hubs))
    const earlier = writers.slice(0, k)
    const peerCount = Math.min(s.peerLinks, earlier.length)
    const peersDialled = new Set<number>()
    while (peersDialled.size < peerCount) peersDialled.add(rng.pick(earlier))
    dials[w] = [...targets, ...peersDialled].sort((a, b) => a - b)
  })
  return { rooms, member, dials, hubs, writers }
}

/** Peers in each room. */
export function roomMembers(plan: LoadPlan): Map<string, number[]> {
  const out = new Map<string, number[]>(plan.rooms.map((r) => [r, []]))
  plan.member.forEach((rooms, p) => rooms.forEach((r) => out.get(r)!.push(p)))
  return out
}

/**
 * How far past its schedule's end a writer still starts sends. A machine that cannot carry the
 * rate leaves the writers ever further behind; past this they stop, and the sends they did not
 * start are counted (the achieved rate says the rest), so the run ends and reports.
 */
export const LOAD_SEND_GRACE_MS = 60_000
