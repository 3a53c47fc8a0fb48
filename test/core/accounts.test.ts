import 'fake-indexeddb/auto'
import { IDBFactory } from 'fake-indexeddb'
import { describe, expect, it } from 'vitest'
import { Accounts, PBKDF2_ITERATIONS, memoryAccountStorage } from '../../src/core/accounts.ts'
import { openIdbAccounts } from '../../src/core/idb-accounts.ts'

describe('accounts', () => {
  it('[ACC1] sign up stores the key only encrypted (PBKDF2 ≥ 600k + AES-GCM); sign in unlocks it', async () => {
    const storage = memoryAccountStorage()
    const accounts = new Accounts(storage)
    const a = await accounts.signUp('alice', 'Alice', 'correct horse')
    const [rec] = storage.records.values()
    expect(rec?.iterations).toBeGreaterThanOrEqual(600_000)
    expect(PBKDF2_ITERATIONS).toBeGreaterThanOrEqual(600_000)
    expect(rec?.sealed.length).toBe(32 + 16)
    const sealed = Buffer.from(rec!.sealed).toString('hex')
    expect(sealed).not.toContain(Buffer.from(a.secretKey).toString('hex'))
    expect(
      JSON.stringify(rec, (_k, v: unknown) => (v instanceof Uint8Array ? [...v] : v)),
    ).not.toContain(JSON.stringify([...a.secretKey]).slice(1, -1))
    const again = await accounts.signIn('alice', 'correct horse')
    expect(again.secretKey).toEqual(a.secretKey)
    expect(again.author).toBe(a.author)
  })

  it('[ACC2] a wrong password is a WrongPasswordError and leaves the stored key untouched', async () => {
    const storage = memoryAccountStorage()
    const accounts = new Accounts(storage)
    await accounts.signUp('bob', 'Bob', 'password one')
    const before = structuredClone([...storage.records.values()])
    await expect(accounts.signIn('bob', 'password two')).rejects.toMatchObject({
      name: 'WrongPasswordError',
    })
    expect([...storage.records.values()]).toEqual(before)
    await expect(accounts.signIn('nobody', 'x')).rejects.toMatchObject({
      name: 'UnknownAccountError',
    })
  })

  it('[ACC3] refuses a user ID used on this browser, malformed IDs and short passwords', async () => {
    const accounts = new Accounts(memoryAccountStorage())
    await accounts.signUp('carol', 'Carol', 'long enough')
    await expect(accounts.signUp('carol', 'Other', 'long enough')).rejects.toMatchObject({
      name: 'AccountExistsError',
    })
    await expect(accounts.signUp('Carol!', 'C', 'long enough')).rejects.toMatchObject({
      name: 'InvalidAccountError',
    })
    await expect(accounts.signUp('dave', 'Dave', 'short')).rejects.toMatchObject({
      name: 'InvalidAccountError',
    })
  })

  it('[ACC4] a session survives a reload until sign out (IndexedDB storage)', async () => {
    const factory = new IDBFactory()
    const accounts = new Accounts(await openIdbAccounts(factory))
    const a = await accounts.signUp('erin', 'Erin', 'long enough')
    const reloaded = new Accounts(await openIdbAccounts(factory))
    expect((await reloaded.resume())?.secretKey).toEqual(a.secretKey)
    await reloaded.signOut()
    expect(await new Accounts(await openIdbAccounts(factory)).resume()).toBeUndefined()
    expect(await reloaded.list()).toEqual([{ userId: 'erin', name: 'Erin' }])
  })

  it('[ACC5] without crypto.subtle (not a secure context) it says what to do', async () => {
    const subtle = Object.getOwnPropertyDescriptor(globalThis.crypto, 'subtle')
    Object.defineProperty(globalThis.crypto, 'subtle', { value: undefined, configurable: true })
    try {
      const err = await new Accounts(memoryAccountStorage())
        .signUp('frank', 'Frank', 'long enough')
        .catch((e: unknown) => e)
      expect(err).toMatchObject({ name: 'InsecureContextError' })
      expect((err as Error).message).toMatch(/https:\/\//)
    } finally {
      // `subtle` is usually a getter on the prototype: removing the own property restores it
      if (subtle !== undefined) Object.defineProperty(globalThis.crypto, 'subtle', subtle)
      else Reflect.deleteProperty(globalThis.crypto, 'subtle')
    }
  })

  it('[ACC6] change password re-seals under a fresh salt; new opens after a reload, old is refused', async () => {
    const factory = new IDBFactory()
    const storage = await openIdbAccounts(factory)
    const accounts = new Accounts(storage)
    const a = await accounts.signUp('gina', 'Gina', 'old password')
    const [before] = await storage.list()
    await accounts.changePassword('gina', 'old password', 'new password')
    const [after] = await storage.list()
    expect(after?.iterations).toBeGreaterThanOrEqual(600_000)
    expect(after?.salt).not.toEqual(before?.salt)
    expect(after?.sealed).not.toEqual(before?.sealed)
    expect(after?.author).toBe(a.author)
    // the session copy is not tied to the password: a reload still resumes
    const reloaded = new Accounts(await openIdbAccounts(factory))
    expect((await reloaded.resume())?.secretKey).toEqual(a.secretKey)
    await reloaded.signOut()
    expect((await reloaded.signIn('gina', 'new password')).secretKey).toEqual(a.secretKey)
    await expect(reloaded.signIn('gina', 'old password')).rejects.toMatchObject({
      name: 'WrongPasswordError',
    })
  })

  it('[ACC7] a wrong old password, a short new one or a failed write change nothing', async () => {
    const factory = new IDBFactory()
    const storage = await openIdbAccounts(factory)
    const accounts = new Accounts(storage)
    const a = await accounts.signUp('hank', 'Hank', 'old password')
    const before = await storage.list()
    await expect(
      accounts.changePassword('hank', 'not it at all', 'new password'),
    ).rejects.toMatchObject({ name: 'WrongPasswordError' })
    await expect(accounts.changePassword('hank', 'old password', 'short')).rejects.toMatchObject({
      name: 'InvalidAccountError',
    })
    await expect(
      accounts.changePassword('nobody', 'old password', 'new password'),
    ).rejects.toMatchObject({ name: 'UnknownAccountError' })
    // the write fails (disk full, tab killed before the transaction commits)
    const failing = new Accounts({
      ...storage,
      put: async () => {
        throw new DOMException('The quota has been exceeded.', 'QuotaExceededError')
      },
    })
    await expect(
      failing.changePassword('hank', 'old password', 'new password'),
    ).rejects.toMatchObject({ name: 'QuotaExceededError' })
    const reopened = new Accounts(await openIdbAccounts(factory))
    expect(await (await openIdbAccounts(factory)).list()).toEqual(before)
    expect((await reopened.signIn('hank', 'old password')).secretKey).toEqual(a.secretKey)
    await expect(reopened.signIn('hank', 'new password')).rejects.toMatchObject({
      name: 'WrongPasswordError',
    })
  })
})
