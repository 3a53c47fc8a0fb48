/**
 * Accounts on this browser. Signing up creates the user's Ed25519 key pair (the device signer that
 * signs every entry the user writes); the secret key is stored only encrypted under the password:
 * PBKDF2-SHA-256 (600,000 iterations, 16-byte random salt) derives an AES-256-GCM key, and the
 * public key is the additional data, so a record whose parts were swapped does not open.
 *
 * While signed in, the secret key is also kept wrapped under a random non-extractable AES-GCM
 * `CryptoKey` held in IndexedDB (the "pickle key" scheme of Element Web), so that reloading the tab
 * does not ask for the password again; signing out deletes that copy and the wrapping key.
 *
 * Where `crypto.subtle` is missing (a page served over plain http from a LAN address is not a
 * secure context) every call fails with {@link InsecureContextError}, whose message says what to do.
 */
import { createNobleSigner, generateDeviceKey } from '../crdt/crypto.ts'
import { authorId } from '../crdt/entry.ts'
import { isUserId, MAX_DISPLAY_NAME } from '../crdt/directory.ts'

/** PBKDF2 iterations (OWASP 2023 minimum for PBKDF2-HMAC-SHA256). */
export const PBKDF2_ITERATIONS = 600_000
/** Shortest password accepted. */
export const MIN_PASSWORD_LENGTH = 8

/** What is stored of an account: nothing that opens without the password. */
export interface AccountRecord {
  userId: string
  name: string
  /** Author id (base64url of the public key): the record's key. */
  author: string
  publicKey: Uint8Array
  salt: Uint8Array
  iterations: number
  iv: Uint8Array
  /** AES-GCM ciphertext of the 32-byte secret seed. */
  sealed: Uint8Array
  created: number
}

/** A signed-in account: the secret key is in memory only. */
export interface UnlockedAccount {
  userId: string
  name: string
  author: string
  publicKey: Uint8Array
  secretKey: Uint8Array
}

/** The current session: the secret key wrapped under a non-extractable key. */
export interface SessionRecord {
  author: string
  key: CryptoKey
  iv: Uint8Array
  sealed: Uint8Array
}

/** Where accounts live (IndexedDB in browsers, a Map in tests). */
export interface AccountStorage {
  list(): Promise<AccountRecord[]>
  put(record: AccountRecord): Promise<void>
  getSession(): Promise<SessionRecord | undefined>
  putSession(session: SessionRecord): Promise<void>
  clearSession(): Promise<void>
}

abstract class NamedError extends Error {
  constructor(name: string, message: string) {
    super(message)
    this.name = name
  }
}
export class WrongPasswordError extends NamedError {
  static override readonly name = 'WrongPasswordError'
  constructor() {
    super('WrongPasswordError', 'Wrong password for this user ID.')
  }
}
export class UnknownAccountError extends NamedError {
  static override readonly name = 'UnknownAccountError'
  constructor(userId: string) {
    super('UnknownAccountError', `No account "${userId}" on this browser. Sign up first.`)
  }
}
export class AccountExistsError extends NamedError {
  static override readonly name = 'AccountExistsError'
  constructor(userId: string) {
    super('AccountExistsError', `The user ID "${userId}" is already taken.`)
  }
}
export class InvalidAccountError extends NamedError {
  static override readonly name = 'InvalidAccountError'
  constructor(message: string) {
    super('InvalidAccountError', message)
  }
}
export class InsecureContextError extends NamedError {
  static override readonly name = 'InsecureContextError'
  constructor() {
    super(
      'InsecureContextError',
      'This page is not a secure context, so the browser hides the cryptography Parley needs to ' +
        'protect your key. Open Parley over https:// (trust your organisation’s certificate ' +
        'authority once), or at http://localhost on the machine that runs the Parley peer.',
    )
  }
}

/** WebCrypto's `subtle`, or {@link InsecureContextError}. */
export function subtleCrypto(): SubtleCrypto {
  const subtle = (globalThis.crypto as Crypto | undefined)?.subtle
  if (subtle === undefined) throw new InsecureContextError()
  return subtle
}

const buf = (b: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(b)
const random = (n: number): Uint8Array<ArrayBuffer> => crypto.getRandomValues(new Uint8Array(n))

async function passwordKey(password: string, salt: Uint8Array, iterations: number) {
  const subtle = subtleCrypto()
  const base = await subtle.importKey('raw', new TextEncoder().encode(password), 'PBKDF2', false, [
    'deriveKey',
  ])
  return subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt: buf(salt), iterations },
    base,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  )
}

async function seal(key: CryptoKey, iv: Uint8Array, aad: Uint8Array, data: Uint8Array) {
  const params = { name: 'AES-GCM', iv: buf(iv), additionalData: buf(aad) }
  return new Uint8Array(await subtleCrypto().encrypt(params, key, buf(data)))
}

async function open(key: CryptoKey, iv: Uint8Array, aad: Uint8Array, data: Uint8Array) {
  const params = { name: 'AES-GCM', iv: buf(iv), additionalData: buf(aad) }
  return new Uint8Array(await subtleCrypto().decrypt(params, key, buf(data)))
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i])

/** PKCS #8 wrapping of a raw Ed25519 seed (RFC 8410): this prefix, then the 32 bytes. */
const PKCS8_ED25519 = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
])

/**
 * The Ed25519 public key of `secretKey`: by WebCrypto where it has Ed25519 (Chromium, Node 20),
 * since noble's first base-point multiplication builds its tables (30–100 ms measured on the
 * reload path in Chromium); by noble elsewhere.
 */
async function publicKeyOf(secretKey: Uint8Array): Promise<Uint8Array> {
  try {
    const pkcs8 = new Uint8Array(PKCS8_ED25519.length + secretKey.length)
    pkcs8.set(PKCS8_ED25519)
    pkcs8.set(secretKey, PKCS8_ED25519.length)
    const subtle = subtleCrypto()
    const key = await subtle.importKey('pkcs8', buf(pkcs8), { name: 'Ed25519' }, true, ['sign'])
    const { x } = await subtle.exportKey('jwk', key)
    if (x === undefined) throw new Error('no public key in the JWK')
    const bin = atob(x.replace(/-/g, '+').replace(/_/g, '/'))
    return Uint8Array.from(bin, (c) => c.charCodeAt(0))
  } catch {
    return createNobleSigner(secretKey).publicKey
  }
}

async function unlocked(r: AccountRecord, secretKey: Uint8Array): Promise<UnlockedAccount> {
  if (!sameBytes(await publicKeyOf(secretKey), r.publicKey))
    throw new InvalidAccountError('The stored key does not match its account.')
  return { userId: r.userId, name: r.name, author: r.author, publicKey: r.publicKey, secretKey }
}

/** Sign up, sign in, resume, sign out, rename. */
export class Accounts {
  readonly #storage: AccountStorage

  constructor(storage: AccountStorage) {
    this.#storage = storage
  }

  /** Accounts on this browser (user ID and display name). */
  async list(): Promise<{ userId: string; name: string }[]> {
    return (await this.#storage.list()).map(({ userId, name }) => ({ userId, name }))
  }

  async #find(userId: string): Promise<AccountRecord | undefined> {
    return (await this.#storage.list()).find((r) => r.userId === userId)
  }

  /**
   * Creates the key pair and stores the account. Refuses a malformed user ID or display name, a
   * short password, and a user ID already used on this browser ({@link AccountExistsError});
   * whether the organisation already has it is the directory's business.
   */
  async signUp(userId: string, name: string, password: string): Promise<UnlockedAccount> {
    subtleCrypto()
    if (!isUserId(userId))
      throw new InvalidAccountError(
        'A user ID is 2–32 lowercase letters, digits, dots, dashes or underscores, starting with a letter.',
      )
    const display = name.trim()
    if (display.length === 0 || display.length > MAX_DISPLAY_NAME)
      throw new InvalidAccountError(`A display name is 1–${MAX_DISPLAY_NAME} characters.`)
    if (password.length < MIN_PASSWORD_LENGTH)
      throw new InvalidAccountError(`A password has at least ${MIN_PASSWORD_LENGTH} characters.`)
    if ((await this.#find(userId)) !== undefined) throw new AccountExistsError(userId)
    const { secretKey, publicKey } = generateDeviceKey()
    const salt = random(16)
    const iv = random(12)
    const key = await passwordKey(password, salt, PBKDF2_ITERATIONS)
    const record: AccountRecord = {
      userId,
      name: display,
      author: authorId(publicKey),
      publicKey,
      salt,
      iterations: PBKDF2_ITERATIONS,
      iv,
      sealed: await seal(key, iv, publicKey, secretKey),
      created: Date.now(),
    }
    await this.#storage.put(record)
    const account = await unlocked(record, secretKey)
    await this.#remember(account)
    return account
  }

  /** Unlocks the account with its password; {@link WrongPasswordError} leaves everything as it was. */
  async signIn(userId: string, password: string): Promise<UnlockedAccount> {
    subtleCrypto()
    const r = await this.#find(userId.trim())
    if (r === undefined) throw new UnknownAccountError(userId)
    const key = await passwordKey(password, r.salt, r.iterations)
    let secretKey: Uint8Array
    try {
      secretKey = await open(key, r.iv, r.publicKey, r.sealed)
    } catch (err) {
      if ((err as Error).name === 'OperationError') throw new WrongPasswordError()
      throw err
    }
    const account = await unlocked(r, secretKey)
    await this.#remember(account)
    return account
  }

  /**
   * Re-seals the account's secret key under `newPassword` (fresh salt and IV, PBKDF2 at
   * {@link PBKDF2_ITERATIONS}). The old password must open the stored key first
   * ({@link WrongPasswordError} otherwise, nothing changed); the new sealed copy is checked to open
   * before it replaces the old one in a single `put` (one IndexedDB transaction), so a crash or a
   * failed write leaves the old sealed key intact and usable. The session copy is not tied to the
   * password and stays as it is.
   */
  async changePassword(userId: string, oldPassword: string, newPassword: string): Promise<void> {
    subtleCrypto()
    if (newPassword.length < MIN_PASSWORD_LENGTH)
      throw new InvalidAccountError(`A password has at least ${MIN_PASSWORD_LENGTH} characters.`)
    const r = await this.#find(userId.trim())
    if (r === undefined) throw new UnknownAccountError(userId)
    let secretKey: Uint8Array
    try {
      secretKey = await open(
        await passwordKey(oldPassword, r.salt, r.iterations),
        r.iv,
        r.publicKey,
        r.sealed,
      )
    } catch (err) {
      if ((err as Error).name === 'OperationError') throw new WrongPasswordError()
      throw err
    }
    await unlocked(r, secretKey)
    const salt = random(16)
    const iv = random(12)
    const key = await passwordKey(newPassword, salt, PBKDF2_ITERATIONS)
    const sealed = await seal(key, iv, r.publicKey, secretKey)
    if (!sameBytes(await open(key, iv, r.publicKey, sealed), secretKey))
      throw new InvalidAccountError('The re-sealed key did not open; the old password still works.')
    await this.#storage.put({ ...r, salt, iterations: PBKDF2_ITERATIONS, iv, sealed })
  }

  /** The account still signed in on this browser (after a reload), if any. */
  async resume(): Promise<UnlockedAccount | undefined> {
    const s = await this.#storage.getSession()
    if (s === undefined) return undefined
    const r = (await this.#storage.list()).find((x) => x.author === s.author)
    if (r === undefined) return undefined
    try {
      return await unlocked(r, await open(s.key, s.iv, r.publicKey, s.sealed))
    } catch {
      // a session that no longer opens is as good as none: sign in again
      await this.#storage.clearSession()
      return undefined
    }
  }

  /** Forgets the unlocked copy of the key: the next visit asks for the password. */
  async signOut(): Promise<void> {
    await this.#storage.clearSession()
  }

  /** Changes the account's user ID (after losing a claim) or display name. */
  async update(author: string, fields: { userId?: string; name?: string }): Promise<void> {
    const all = await this.#storage.list()
    const r = all.find((x) => x.author === author)
    if (r === undefined) throw new InvalidAccountError('No such account.')
    if (fields.userId !== undefined) {
      if (!isUserId(fields.userId)) throw new InvalidAccountError('Not a valid user ID.')
      if (all.some((x) => x.userId === fields.userId && x.author !== author))
        throw new AccountExistsError(fields.userId)
    }
    await this.#storage.put({ ...r, ...fields })
  }

  async #remember(a: UnlockedAccount): Promise<void> {
    const key = await subtleCrypto().generateKey({ name: 'AES-GCM', length: 256 }, false, [
      'encrypt',
      'decrypt',
    ])
    const iv = random(12)
    await this.#storage.putSession({
      author: a.author,
      key,
      iv,
      sealed: await seal(key, iv, a.publicKey, a.secretKey),
    })
  }
}

/** In-memory {@link AccountStorage} (tests). */
export function memoryAccountStorage(): AccountStorage & { records: Map<string, AccountRecord> } {
  const records = new Map<string, AccountRecord>()
  let session: SessionRecord | undefined
  return {
    records,
    list: async () => [...records.values()],
    put: async (r) => void records.set(r.author, structuredClone(r)),
    getSession: async () => session,
    putSession: async (s) => void (session = s),
    clearSession: async () => void (session = undefined),
  }
}
