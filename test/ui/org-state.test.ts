import { describe, expect, it } from 'vitest'
import { OrgState, type OrgFacade } from '../../src/ui/state/org.svelte.ts'
import type { MemberInfo, OrgSummary } from '../../src/core/org-client.ts'
import type { PeerIdString } from '../../src/core/index.ts'

const peer = (s: string) => s as PeerIdString

/** A plain-object facade with the core client's rules for the last admin. */
function fakeOrg() {
  const listeners = new Set<() => void>()
  const emit = (): void => listeners.forEach((cb) => cb())
  let summary: OrgSummary = {
    name: 'Acme',
    orgId: 'abc',
    role: 'admin',
    removed: false,
    refused: undefined,
  }
  const members: MemberInfo[] = [
    { userId: 'ann', name: 'Ann', role: 'admin', revoked: false, keys: ['A'] },
    { userId: 'bob', name: 'Bob', role: 'member', revoked: false, keys: ['B'] },
    { userId: 'node', name: 'office', role: 'peer', revoked: false, keys: ['N'] },
  ]
  const admins = () => members.filter((m) => m.role === 'admin' && !m.revoked).length
  const facade: OrgFacade = {
    org: () => summary,
    members: () => members.map((m) => ({ ...m })),
    people: () => [
      { author: 'A', peer: peer('pA'), name: 'Ann', status: 'online', lastSeen: 0, self: true },
      { author: 'B', peer: peer('pB'), name: 'Bob', status: 'away', lastSeen: 0, self: false },
    ],
    createInvite: async ({ role, expiresInMs }) => ({
      code: `code-${role}`,
      expires: Date.now() + expiresInMs,
    }),
    createDeviceLink: async () => {
      if (summary.removed)
        throw new Error('only a member with a valid certificate can link a device')
      return { code: 'link-code', expires: Date.now() + 600_000 }
    },
    async revoke(userId) {
      const m = members.find((x) => x.userId === userId)!
      if (m.role === 'admin' && admins() <= 1) throw new Error('the last admin cannot be removed')
      m.revoked = true
      emit()
    },
    async setRole(userId, role) {
      const m = members.find((x) => x.userId === userId)!
      if (m.role === 'admin' && role !== 'admin' && admins() <= 1)
        throw new Error('the last admin cannot be demoted')
      m.role = role
      emit()
    },
    onChange(cb) {
      listeners.add(cb)
      return () => listeners.delete(cb)
    },
  }
  return { facade, set: (s: Partial<OrgSummary>) => ((summary = { ...summary, ...s }), emit()) }
}

describe('OrgState (no DOM)', () => {
  it('[ORGUI1] members with presence, Node peers left out, the last admin locked', () => {
    const { facade } = fakeOrg()
    const org = new OrgState(facade, 'A', (c) => `https://h/#invite=${c}`)
    expect(org.isAdmin).toBe(true)
    expect(org.members.map((m) => [m.userId, m.status, m.self])).toEqual([
      ['ann', 'online', true],
      ['bob', 'away', false],
    ])
    expect(org.members[0]!.locked).toMatch(/last admin/)
    expect(org.members[1]!.locked).toBeUndefined()
    org.destroy()
  })

  it('[ORGUI2] invitation link, promote, revoke; a refused action is an error, not a throw', async () => {
    const { facade, set } = fakeOrg()
    const org = new OrgState(facade, 'A', (c) => `https://h/#invite=${c}`)
    await org.createInvite('admin', 3_600_000)
    expect(org.invite).toMatchObject({ link: 'https://h/#invite=code-admin', role: 'admin' })
    expect(org.invite!.expires).toBeGreaterThan(Date.now() + 3_500_000)

    await org.revoke('ann')
    expect(org.error).toMatch(/last admin/)
    await org.setRole('bob', 'admin')
    expect(org.error).toBeUndefined()
    expect(org.members.every((m) => m.locked === undefined)).toBe(true)
    await org.revoke('bob')
    expect(org.members.find((m) => m.userId === 'bob')).toMatchObject({
      revoked: true,
      status: 'offline',
    })
    expect(org.members.at(-1)!.userId).toBe('bob')

    set({ removed: true })
    expect(org.org?.removed).toBe(true)
    expect(org.isAdmin).toBe(false)
    org.destroy()
    set({ name: 'After' })
    expect(org.org?.name).toBe('Acme')
  })

  it('[ORGUI3] a device link code for another device of ours: shown with its link and expiry; refused when removed', async () => {
    const { facade, set } = fakeOrg()
    const org = new OrgState(
      facade,
      'A',
      (c) => `https://h/#invite=${c}`,
      (c) => `https://h/#link=${c}`,
    )
    await org.createDeviceLink()
    expect(org.deviceLink).toMatchObject({ link: 'https://h/#link=link-code', code: 'link-code' })
    expect(org.deviceLink!.expires).toBeGreaterThan(Date.now() + 500_000)
    org.clearDeviceLink()
    set({ removed: true })
    await org.createDeviceLink()
    expect(org.deviceLink).toBeUndefined()
    expect(org.error).toMatch(/valid certificate/)
    org.destroy()
  })
})
