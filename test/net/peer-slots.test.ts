import { describe, expect, it } from 'vitest'
import { PeerSlots } from '../../src/net/peer-slots.ts'

describe('PeerSlots', () => {
  it('[SLOTS1] at most `limit` per peer; the rest get theirs in the order they asked', async () => {
    const slots = new PeerSlots(2)
    const r1 = await slots.acquire('a')
    const r2 = await slots.acquire('a')
    const order: number[] = []
    const w3 = slots.acquire('a').then((r) => (order.push(3), r))
    const w4 = slots.acquire('a').then((r) => (order.push(4), r))
    // another peer's slots are its own
    const other = await slots.acquire('b')
    expect(slots.held('a')).toBe(2)
    r2()
    r2() // a second release of the same slot does nothing
    const r3 = await w3
    expect(order).toEqual([3])
    r1()
    const r4 = await w4
    expect(order).toEqual([3, 4])
    expect(slots.held('a')).toBe(2)
    r3()
    r4()
    other()
    expect([slots.held('a'), slots.held('b')]).toEqual([0, 0])
  })

  it('[SLOTS2] a wait aborted gives up its place; one aborted before asking is refused', async () => {
    const slots = new PeerSlots(1)
    const r1 = await slots.acquire('a')
    const ac = new AbortController()
    const aborted = slots.acquire('a', ac.signal)
    const next = slots.acquire('a')
    ac.abort()
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' })
    r1()
    const r2 = await next
    expect(slots.held('a')).toBe(1)
    r2()
    await expect(slots.acquire('a', AbortSignal.abort())).rejects.toMatchObject({
      name: 'AbortError',
    })
    expect(slots.held('a')).toBe(0)
    expect(() => new PeerSlots(0)).toThrow(RangeError)
  })
})
