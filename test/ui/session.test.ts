import { afterEach, describe, expect, it, vi } from 'vitest'
import { Accounts, memoryAccountStorage } from '../../src/core/accounts.ts'
import type { BrowserSession } from '../../src/core/browser.ts'
import type { ClaimState } from '../../src/core/client.ts'
import { SessionState } from '../../src/ui/state/session.svelte.ts'
import { hubClient, type HubClient } from './helpers.ts'

/** A session whose claim answers `claims` in turn (the org directory, faked). */
function deps(claims: ClaimState[], open: HubClient[], secure = true) {
  const accounts = new Accounts(memoryAccountStorage())
  /** Users whose session was asked to start its network at once. */
  const networkAsked: string[] = []
  const started: { userId: string; name: string; link: string | undefined }[] = []
  return {
    networkAsked,
    accounts: async () => accounts,
    secure,
    started,
    start: async (
      account: { userId: string; name: string },
      _invite?: string,
      link?: string,
    ): Promise<BrowserSession> => {
      started.push({ userId: account.userId, name: account.name, link })
      const c = await hubClient(undefined, account.userId)
      open.push(c)
      c.client.claim = async () => claims.shift() ?? 'ok'
      c.client.rename = async () => claims.shift() ?? 'ok'
      return {
        client: c.client,
        peerAddress: undefined,
        startNetwork: async () => void networkAsked.push(account.userId),
        redial: () => undefined,
        stop: c.stop,
      }
    },
  }
}

describe('SessionState (no DOM)', () => {
  const open: HubClient[] = []
  afterEach(async () => {
    for (const c of open.splice(0)) await c.stop()
  })

  it('[SES1] sign up → ready; sign out → signed-out; a wrong password is an error, not a crash', async () => {
    const d = deps(['ok'], open)
    const s = new SessionState(d)
    await s.init()
    expect(s.phase).toBe('signed-out')
    await s.signUp('ivy', 'Ivy', 'long enough')
    expect(s.phase).toBe('ready')
    expect(s.session?.client.me.userId).toBe('ivy')
    // A new account claims its user ID over the network: started at once, not after a paint.
    expect(d.networkAsked).toEqual(['ivy'])
    await s.signOut()
    expect(s.phase).toBe('signed-out')
    expect(s.known).toEqual([{ userId: 'ivy', name: 'Ivy' }])
    await s.signIn('ivy', 'not the password')
    expect(s.phase).toBe('signed-out')
    expect(s.error).toMatch(/wrong password/i)
    await s.signIn('ivy', 'long enough')
    expect(s.phase).toBe('ready')
    s.destroy()
  })

  it('[SES2] a user ID taken in the organisation must be replaced before entering', async () => {
    const s = new SessionState(deps(['taken', 'taken', 'ok'], open))
    await s.init()
    await s.signUp('max', 'Max', 'long enough')
    expect(s.phase).toBe('claim')
    expect(s.error).toMatch(/already taken/)
    await s.chooseUserId('max2')
    expect(s.phase).toBe('claim')
    expect(s.error).toMatch(/taken too/)
    await s.chooseUserId('max3')
    expect(s.phase).toBe('ready')
    s.destroy()
  })

  it('[SES3] without a secure context it says so instead of breaking', async () => {
    const s = new SessionState(deps([], open, false))
    await s.init()
    expect(s.phase).toBe('insecure')
  })

  it('[SES4] "I have a link code": the code is checked, a new account for its user is made and started with it', async () => {
    const d = {
      ...deps(['ok'], open),
      linkCode: 'CODE-1',
      checkLink: async (code: string) => {
        if (code !== 'CODE-1') throw new Error('This is not a valid device link code.')
        return { orgName: 'Acme', orgId: 'x', userId: 'carol', name: 'Carol', expires: 1 }
      },
    }
    const s = new SessionState(d)
    await s.init()
    await vi.waitFor(() => expect(s.link?.summary?.userId).toBe('carol'))
    await s.setLink('garbage')
    expect(s.link?.error).toMatch(/not a valid/)
    await s.linkDevice('long enough')
    expect(s.phase).toBe('signed-out')
    expect(s.error).toMatch(/not a valid/)
    await s.setLink('CODE-1')
    await s.linkDevice('long enough')
    expect(s.phase).toBe('ready')
    expect(d.started).toEqual([{ userId: 'carol', name: 'Carol', link: 'CODE-1' }])
    expect(d.networkAsked).toEqual(['carol'])
    expect(s.link).toBeUndefined()
    s.destroy()
  })
})
