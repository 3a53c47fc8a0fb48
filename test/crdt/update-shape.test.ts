/**
 * The pre-check of stored Yjs updates (src/crdt/update-shape.ts): a struct count that the bytes
 * cannot hold is refused before `Y.applyUpdate` allocates for it (found by `npm run fuzz`), and no
 * update Yjs decodes is refused — every kind of struct and content included.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import * as encoding from 'lib0/encoding'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { PeriodDoc } from '../../src/crdt/period-doc.ts'
import { messageId } from '../../src/crdt/schema.ts'
import { structCountsFit } from '../../src/crdt/update-shape.ts'
import { DAY, ROOM, at, author } from './period-fixtures.ts'

/** A v1 update of one section claiming `n` structs, and nothing else. */
function claiming(n: number): Uint8Array {
  const e = encoding.createEncoder()
  for (const v of [1, n, 0, 0]) encoding.writeVarUint(e, v)
  return encoding.toUint8Array(e)
}

/** A document with every kind of struct and content Yjs 13 writes. */
function everyContent(): Y.Doc {
  const doc = new Y.Doc({ gc: false })
  const text = doc.getText('text')
  text.insert(0, 'hello world', { bold: true }) // strings and formats
  text.insertEmbed(5, { image: 'x.png' }) // embed
  text.delete(0, 2) // deleted content
  const map = doc.getMap('map')
  map.set('any', { a: [1, -2.5, null, true, false, 'é', new Uint8Array([1, 2])], n: 2 ** 40 })
  map.set('bin', new Uint8Array([0, 255]))
  map.set('big', 12345678901234567890n)
  map.set('nested', new Y.Map()) // type
  map.set('el', new Y.XmlElement('p')) // type with a node name
  map.set('doc', new Y.Doc()) // subdocument
  map.set('any', 'overwritten')
  doc.getArray('array').insert(0, [{ u: undefined }, [[[[1]]]], { deep: { deeper: {} } }])
  doc.getXmlFragment('xml').insert(0, [new Y.XmlText('t')])
  map.set('hook', new Y.XmlHook('hook')) // type with a hook name
  return doc
}

describe('structCountsFit', () => {
  it('[SHAPE1] passes every kind of struct and content, with and without gc, and skips', () => {
    const doc = everyContent()
    const full = Y.encodeStateAsUpdate(doc)
    expect(() => Y.decodeUpdate(full)).not.toThrow()
    expect(structCountsFit(full)).toBe(true)
    const gcd = new Y.Doc()
    Y.applyUpdate(gcd, full)
    gcd.getMap('map').delete('nested') // a GC struct once collected
    expect(structCountsFit(Y.encodeStateAsUpdate(gcd))).toBe(true)
    // a merge of non-adjacent updates holds skip structs
    const a = new Y.Doc()
    const updates: Uint8Array[] = []
    a.on('update', (u: Uint8Array) => updates.push(u))
    for (let i = 0; i < 3; i++) a.getArray('x').insert(0, [i])
    const merged = Y.mergeUpdates([updates[0]!, updates[2]!])
    expect(structCountsFit(merged)).toBe(true)
    expect(structCountsFit(Y.encodeStateAsUpdate(new Y.Doc()))).toBe(true)
  })

  it('[SHAPE2] passes every room document Parley writes', () => {
    const alice = author('alice')
    const d = new PeriodDoc(ROOM, DAY)
    for (let seq = 1; seq <= 20; seq++) d.post(alice.ctx(seq), `message ${seq} 🦆`, at(seq))
    d.edit(alice.ctx(21), messageId(alice.id, 1), 'edited', at(30))
    d.remove(alice.ctx(22), messageId(alice.id, 2), at(31))
    d.edit(alice.ctx(23), messageId(alice.id, 1), 'again', at(32)) // overwrites: deletions
    expect(structCountsFit(d.encodeSnapshot())).toBe(true)
  })

  it('[SHAPE3] refuses struct counts the bytes cannot hold, and truncations', () => {
    for (const n of [8, 2 ** 20, 2 ** 25, 2 ** 31, 2 ** 53 - 1])
      expect(structCountsFit(claiming(n))).toBe(false)
    const full = Y.encodeStateAsUpdate(everyContent())
    for (let cut = 0; cut < full.length; cut += 7)
      expect(structCountsFit(full.subarray(0, cut))).toBe(false)
  })

  it("[SHAPE4] PeriodDoc.fromSnapshot refuses the fuzzer's snapshots with CorruptSnapshotError", () => {
    const dir = join(import.meta.dirname, '../fuzz/corpus/snapshot')
    const inputs = [claiming(2 ** 25), ...readdirSync(dir).map((f) => readFileSync(join(dir, f)))]
    for (const bytes of inputs) {
      expect(structCountsFit(bytes)).toBe(false)
      expect(() => PeriodDoc.fromSnapshot(ROOM, DAY, bytes)).toThrow(
        expect.objectContaining({ name: 'CorruptSnapshotError' }),
      )
    }
  })
})
