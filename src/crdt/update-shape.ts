/**
 * A cheap pre-check of stored Yjs v1 updates (snapshots, y-indexeddb updates) before
 * `Y.applyUpdate` reads them. `Y.applyUpdate` allocates `new Array(n)` for each struct section's
 * claimed count `n` before reading a single struct: 7 bytes claiming 2^25 structs cost ~1 s and
 * ~256 MB before it throws "Unexpected end of array" (found by `npm run fuzz`, docs/reliability.md).
 * Network updates never reach it unchecked (validate.ts decodes them with `Y.decodeUpdate`, whose
 * lazy reader allocates as it goes); stored ones did.
 *
 * {@link structCountsFit} walks the update as Yjs would (yjs 13.6 `readClientsStructRefs`,
 * `readItemContent`, lib0 `readAny`), skipping contents without decoding them, and answers whether
 * every section's struct count fits in the bytes left (each struct takes at least one byte). It
 * never refuses an update Yjs decodes (checked by the fuzzer against `Y.decodeUpdate`) and takes a
 * fraction of `Y.applyUpdate`'s time.
 */

/** Reads varuints and skips bytes; every overrun throws (caught by {@link structCountsFit}). */
class Cursor {
  pos = 0
  constructor(readonly b: Uint8Array) {}

  u8(): number {
    if (this.pos >= this.b.length) throw new RangeError('end')
    return this.b[this.pos++]!
  }

  uint(): number {
    let n = 0
    let mult = 1
    for (;;) {
      const x = this.u8()
      n += (x & 0x7f) * mult
      if (x < 0x80) return n
      mult *= 128
      if (n > Number.MAX_SAFE_INTEGER) throw new RangeError('varuint')
    }
  }

  /** A signed varint (lib0 `readVarInt`): bytes until one without the continuation bit. */
  int(): void {
    while (this.u8() >= 0x80);
  }

  skip(n: number): void {
    if (n > this.b.length - this.pos) throw new RangeError('end')
    this.pos += n
  }

  /** An id: client and clock. */
  id(): void {
    this.uint()
    this.uint()
  }

  /** A length-prefixed string or byte array. */
  bytes(): void {
    this.skip(this.uint())
  }

  /** A lib0 `writeAny` value, iteratively (no recursion depth to exhaust). */
  any(): void {
    // per open array or object: values left, and whether each is preceded by a key
    const open: { left: number; keyed: boolean }[] = [{ left: 1, keyed: false }]
    while (open.length > 0) {
      const top = open[open.length - 1]!
      if (top.left === 0) {
        open.pop()
        continue
      }
      top.left--
      if (top.keyed) this.bytes()
      switch (127 - this.u8()) {
        case 0: // undefined
        case 1: // null
        case 6: // false
        case 7: // true
          break
        case 2:
          this.int()
          break
        case 3:
          this.skip(4)
          break
        case 4:
        case 5:
          this.skip(8)
          break
        case 8:
        case 11:
          this.bytes()
          break
        case 9: // object: n × (key, value)
        case 10: {
          // array: n values
          const keyed = this.b[this.pos - 1] === 118
          const n = this.uint()
          if (n > this.b.length - this.pos) throw new RangeError('count')
          open.push({ left: n, keyed })
          break
        }
        default:
          throw new RangeError('any')
      }
    }
  }
}

/** The content of an item whose info byte is `info` (yjs `contentRefs`). */
function skipContent(c: Cursor, info: number): void {
  switch (info & 0x1f) {
    case 1: // deleted
      c.uint()
      return
    case 2: {
      // JSON: n strings
      const n = c.uint()
      if (n > c.b.length - c.pos) throw new RangeError('count')
      for (let i = 0; i < n; i++) c.bytes()
      return
    }
    case 3: // binary
    case 4: // string
    case 5: // embed (JSON text)
      c.bytes()
      return
    case 6: // format: key, JSON text
      c.bytes()
      c.bytes()
      return
    case 7: {
      // type: its ref, and a node name for XmlElement (3) and XmlHook (5)
      const ref = c.uint()
      if (ref > 6) throw new RangeError('type ref')
      if (ref === 3 || ref === 5) c.bytes()
      return
    }
    case 8: {
      const n = c.uint()
      if (n > c.b.length - c.pos) throw new RangeError('count')
      for (let i = 0; i < n; i++) c.any()
      return
    }
    case 9: // subdocument: guid, options
      c.bytes()
      c.any()
      return
    default:
      throw new RangeError('content ref')
  }
}

/**
 * Whether every struct section of the v1 update `update` claims no more structs than bytes remain
 * after its header, and the update reads to its delete set without running out. False means
 * `Y.applyUpdate` would refuse it anyway (after a possibly huge allocation): refuse it first.
 */
export function structCountsFit(update: Uint8Array): boolean {
  const c = new Cursor(update)
  try {
    const sections = c.uint()
    for (let s = 0; s < sections; s++) {
      const structs = c.uint()
      c.uint() // client
      c.uint() // clock
      if (structs > update.length - c.pos) return false
      for (let i = 0; i < structs; i++) {
        const info = c.u8()
        if ((info & 0x1f) === 0 || (info & 0x1f) === 10) {
          c.uint() // a GC's or a skip's length
          continue
        }
        if (info & 0x80) c.id() // origin
        if (info & 0x40) c.id() // right origin
        if ((info & 0xc0) === 0) {
          if (c.uint() === 1)
            c.bytes() // parent: a root's name
          else c.id() // or an item's id
          if (info & 0x20) c.bytes() // parentSub
        }
        skipContent(c, info)
      }
    }
    const clients = c.uint() // the delete set: per client, (clock, len) pairs
    for (let i = 0; i < clients; i++) {
      c.uint()
      const n = c.uint()
      if (n > update.length - c.pos) return false
      for (let k = 0; k < n; k++) c.id() // clock, length
    }
    return true
  } catch {
    // ran past the end, or a ref Yjs has no reader for: Yjs would throw too
    return false
  }
}
