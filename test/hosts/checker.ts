/**
 * The chaos checker's verdict on one run: every message a peer reported as sent (delivered, or
 * stored and queued) is on every peer exactly once, and every peer shows the same sequence. Pure:
 * the histories and the send outcomes in, the problems out.
 */
import type { SendOutcome } from './hosts.ts'

export interface SendRecord {
  host: number
  text: string
  outcome: SendOutcome
}

export interface Verdict {
  ok: boolean
  /** Human-readable, at most a few per kind. */
  problems: string[]
  /** Messages reported as sent. */
  acknowledged: number
  /** Of those, how many are missing on at least one peer. */
  lost: number
  duplicates: number
  /** Whether every peer holds the same sequence of ids. */
  sameOrder: boolean
  /** Messages present whose send was not reported as sent (cut off mid-call: allowed). */
  unreported: number
}

/** The sends a peer reported as sent: delivered, or stored and queued. */
export function reportedSent(
  sends: readonly SendRecord[],
): (SendRecord & { outcome: { kind: 'delivered' | 'queued'; id: string } })[] {
  return sends.filter(
    (s): s is SendRecord & { outcome: { kind: 'delivered' | 'queued'; id: string } } =>
      s.outcome.kind === 'delivered' || s.outcome.kind === 'queued',
  )
}

export function check(
  sends: readonly SendRecord[],
  histories: readonly (readonly { id: string; text: string }[])[],
): Verdict {
  const problems: string[] = []
  const note = (p: string): void => void (problems.length < 20 && problems.push(p))
  const acked = reportedSent(sends)
  let duplicates = 0
  const lostIds = new Set<string>()
  histories.forEach((h, host) => {
    const ids = new Map<string, number>()
    const texts = new Set<string>()
    for (const m of h) {
      ids.set(m.id, (ids.get(m.id) ?? 0) + 1)
      if (texts.has(m.text)) {
        duplicates++
        note(`h${host} shows "${m.text}" twice`)
      }
      texts.add(m.text)
    }
    for (const [id, n] of ids)
      if (n > 1) {
        duplicates++
        note(`h${host} shows id ${id} ${n} times`)
      }
    const byId = new Map(h.map((m) => [m.id, m]))
    for (const s of acked) {
      const mine = byId.get(s.outcome.id)
      if (mine === undefined) {
        lostIds.add(s.outcome.id)
        note(`h${host} lacks "${s.text}" (${s.outcome.kind} by h${s.host}, id ${s.outcome.id})`)
      } else if (mine.text !== s.text) {
        note(`h${host} holds id ${s.outcome.id} as "${mine.text}", sent as "${s.text}"`)
      }
    }
  })
  const first = JSON.stringify(histories[0]?.map((m) => m.id) ?? [])
  const sameOrder = histories.every((h) => JSON.stringify(h.map((m) => m.id)) === first)
  if (!sameOrder) {
    histories.forEach((h, host) => {
      const at = h.findIndex((m, k) => m.id !== histories[0]![k]?.id)
      if (at >= 0 || h.length !== histories[0]!.length)
        note(`h${host} differs from h0 from position ${at < 0 ? h.length : at} (of ${h.length})`)
    })
  }
  const ackedIds = new Set(acked.map((s) => s.outcome.id))
  const unreported = (histories[0] ?? []).filter((m) => !ackedIds.has(m.id)).length
  return {
    ok: lostIds.size === 0 && duplicates === 0 && sameOrder && problems.length === 0,
    problems,
    acknowledged: acked.length,
    lost: lostIds.size,
    duplicates,
    sameOrder,
    unreported,
  }
}
