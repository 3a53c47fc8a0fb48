/** The sustained-load bench's pure parts: its office plan and its checker (bench/load.ts). */
import { describe, expect, it } from 'vitest'
import { addChecks, checkHeld, latencies, memoryTrend } from '../../bench/lib/load-check.ts'
import { GENERAL, planLoad, roomMembers } from '../../bench/lib/load-plan.ts'

describe('sustained-load checker', () => {
  it('[LOAD1] counts lost, duplicated and unexpected ids', () => {
    const c = checkHeld(['a.1', 'a.2', 'b.1', 'b.2'], ['a.1', 'b.1', 'a.1', 'c.9', 'b.1', 'b.1'])
    expect(c).toEqual({
      expected: 4,
      held: 6,
      lost: 2,
      duplicates: 3,
      extra: 1,
      lostSample: ['a.2', 'b.2'],
    })
    expect(checkHeld(['a.1'], ['a.1'])).toMatchObject({ lost: 0, duplicates: 0, extra: 0 })
    const sum = addChecks([c, checkHeld(['x.1'], [])])
    expect(sum).toMatchObject({ expected: 5, held: 6, lost: 3, duplicates: 3, extra: 1 })
    expect(sum.lostSample).toEqual(['a.2', 'b.2', 'x.1'])
  })

  it('[LOAD2] latency per receiver: the writer is not a receiver, unnoted pairs are counted', () => {
    const members = new Map([
      ['r', [0, 1, 2]],
      ['s', [0, 1]],
    ])
    const writerOf = new Map([['A', 1]])
    const sent = [
      { room: 'r', author: 'A', seq: 2, tCall: 1_000 },
      { room: 'r', author: 'A', seq: 3, tCall: 70_000 },
      { room: 's', author: 'A', seq: 1, tCall: 2_000 },
    ]
    const receipts = [
      [
        { room: 'r', author: 'A', first: 2, times: [1_010, 70_050] },
        { room: 's', author: 'A', first: 1, times: [2_100] },
      ],
      // The writer's own receipts are ignored.
      [{ room: 'r', author: 'A', first: 1, times: [0, 0, 0] }],
      // Receiver 2 has not noted seq 3.
      [{ room: 'r', author: 'A', first: 2, times: [1_030] }],
    ]
    const r = latencies(sent, writerOf, members, receipts, 0, 70_000, 60_000)
    expect(r.unseen).toBe(1)
    expect(r.all).toMatchObject({ n: 4, p50: 30, max: 100 })
    expect(r.perReceiver.map((p) => [p.peer, p.latency.n, p.latency.max])).toEqual([
      [0, 3, 100],
      [2, 1, 30],
    ])
    expect(r.timeline.map((w) => [w.fromS, w.n])).toEqual([
      [0, 3],
      [60, 1],
    ])
    expect(r.firstWindow.n).toBe(3)
    expect(r.lastWindow).toMatchObject({ n: 1, max: 50 })
  })

  it('[LOAD3] memory trend: mean RSS of the first window against the last', () => {
    const samples = [0, 10, 20, 30, 40, 50].map((s, i) => ({ t: s * 1000, rss: 100 + i * 10 }))
    const t = memoryTrend(samples, 0, 50_000, 20_000)
    expect(t.first).toBe(105)
    expect(t.last).toBe(145)
    expect(t.growth).toBeCloseTo(145 / 105 - 1)
  })

  it('[LOAD4] the office plan: hubs hold every room, every room has a device, dials go backwards', () => {
    const shape = {
      peers: 50,
      rooms: 20,
      hubs: 3,
      roomsPerPeer: 4,
      hubLinks: 2,
      peerLinks: 1,
      seed: 7,
    }
    const plan = planLoad(shape)
    expect(plan.hubs).toEqual([0, 1, 2])
    expect(plan.writers).toHaveLength(47)
    for (const h of plan.hubs) expect(plan.member[h]).toEqual(plan.rooms)
    for (const w of plan.writers) {
      expect(plan.member[w]![0]).toBe(GENERAL)
      expect(new Set(plan.member[w]).size).toBe(5)
      expect(plan.dials[w]!.filter((t) => plan.hubs.includes(t))).toHaveLength(2)
      expect(plan.dials[w]!.every((t) => t < w)).toBe(true)
    }
    for (const [, m] of roomMembers(plan)) expect(m.filter((p) => p >= 3).length).toBeGreaterThan(0)
    expect(planLoad(shape)).toEqual(plan)
    expect(() =>
      planLoad({
        peers: 3,
        rooms: 2,
        hubs: 3,
        roomsPerPeer: 1,
        hubLinks: 1,
        peerLinks: 0,
        seed: 1,
      }),
    ).toThrow(RangeError)
  })
})
