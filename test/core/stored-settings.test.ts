/**
 * Settings read back from a damaged store (found by `npm run fuzz`, docs/reliability.md): the org
 * setting is refused with a named error, the web client's local state falls back to its defaults
 * field by field; neither throws anything else.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { LocalState } from '../../src/core/local-state.ts'
import { loadOrgSettings, saveOrgSettings } from '../../src/core/org-settings.ts'
import type { HistoryStore } from '../../src/core/store.ts'
import { makeOrg } from '../helpers/org.ts'

const enc = new TextEncoder()
const corpus = (surface: string, file: string): Uint8Array =>
  readFileSync(join(import.meta.dirname, '../fuzz/corpus', surface, file))

/** A store holding `settings` (only the settings part of the contract is used here). */
function storeWith(settings: Record<string, Uint8Array>): HistoryStore {
  return {
    getSetting: (key: string) => Promise.resolve(settings[key]),
    putSetting: (key: string, value: Uint8Array) => {
      settings[key] = value
      return Promise.resolve()
    },
  } as unknown as HistoryStore
}

describe('stored settings', () => {
  it('[SET1] a damaged org setting is a DamagedSettingError, whatever the damage', async () => {
    const o = await makeOrg()
    const good = storeWith({})
    await saveOrgSettings(good, {
      root: o.root,
      networkKey: new Uint8Array(32),
      records: [],
      addrs: [],
    })
    expect((await loadOrgSettings(good))?.root.name).toBe('Acme')
    const valid = JSON.parse(new TextDecoder().decode(await good.getSetting('org'))) as object
    const damaged = [
      corpus('org-settings', 'control-character-json.bin'), // was a SyntaxError
      enc.encode('null'), // was a TypeError
      enc.encode(JSON.stringify({ ...valid, records: 'x' })), // was a TypeError
      enc.encode(JSON.stringify({ ...valid, root: 'AAAA' })), // was a MalformedOrgRecordError
      enc.encode(JSON.stringify({ ...valid, networkKey: '!' })),
    ]
    for (const bytes of damaged) {
      await expect(loadOrgSettings(storeWith({ org: bytes }))).rejects.toMatchObject({
        name: 'DamagedSettingError',
      })
    }
  })

  it('[SET2] damaged local state and drafts load as defaults, field by field', async () => {
    const s = new LocalState(
      storeWith({
        'ui/local': corpus('local-state', 'control-character-json.bin'),
        'ui/drafts': enc.encode('{"general": "half a thought", "x": 5'), // cut short: was a SyntaxError
      }),
    )
    await s.load()
    expect(s.data.current).toBe('general')
    expect(s.draft('general')).toBe('')
    const t = new LocalState(
      storeWith({
        'ui/local': enc.encode(
          JSON.stringify({
            joined: 'general',
            read: { a: 1, b: { wall: 2, count: 0 } },
            current: 'b',
          }),
        ),
        'ui/drafts': enc.encode(JSON.stringify({ general: 'half a thought', x: 5 })),
      }),
    )
    await t.load()
    expect(t.data.joined).toEqual(['general'])
    expect(t.data.read).toEqual({ b: { wall: 2, count: 0 } })
    expect(t.data.current).toBe('b')
    expect(t.draft('general')).toBe('half a thought')
    expect(t.draft('x')).toBe('')
  })
})
