/**
 * Where a peer's time goes, without a profiler: wraps the store, the crypto and the signer the
 * Messenger is given and adds up, per method, the calls and the time their synchronous part takes.
 * The Node implementations do all their work synchronously (better-sqlite3, node:crypto) and only
 * then return a resolved promise, so that part is the whole cost and concurrent calls never overlap.
 */
export interface Timing {
  calls: number
  ms: number
}

export class Timings {
  readonly #by = new Map<string, Timing>()

  /** A proxy of `target` whose function properties are timed as `<prefix>.<name>`. */
  wrap<T extends object>(prefix: string, target: T): T {
    return new Proxy(target, {
      get: (obj, prop, receiver) => {
        const value: unknown = Reflect.get(obj, prop, receiver)
        if (typeof value !== 'function' || typeof prop !== 'string') return value
        const name = `${prefix}.${prop}`
        return (...args: unknown[]): unknown => {
          const t0 = performance.now()
          try {
            return (value as (...a: unknown[]) => unknown).apply(obj, args)
          } finally {
            this.add(name, performance.now() - t0)
          }
        }
      },
    })
  }

  add(name: string, ms: number): void {
    const t = this.#by.get(name)
    if (t === undefined) this.#by.set(name, { calls: 1, ms })
    else {
      t.calls += 1
      t.ms += ms
    }
  }

  /** Every timing, most time first; and starts again from zero. */
  take(): [string, Timing][] {
    const out = [...this.#by].sort((a, b) => b[1].ms - a[1].ms)
    this.#by.clear()
    return out
  }
}
