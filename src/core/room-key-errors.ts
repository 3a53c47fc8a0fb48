/** The named errors of encrypted rooms (src/core/room-keys.ts). */

/** This device is not a member of the encrypted room it tried to write to (or the author of an entry was not). */
export class NotRoomMemberError extends Error {
  static override readonly name = 'NotRoomMemberError'
  constructor(message = 'Not a member of this private room') {
    super(message)
    this.name = 'NotRoomMemberError'
  }
}

/** This device holds no key for the encrypted room yet (it was added, but the key has not arrived). */
export class RoomKeyMissingError extends Error {
  static override readonly name = 'RoomKeyMissingError'
  constructor(room: string) {
    super(`No key for ${room} on this device yet: wait for a member to sync it`)
    this.name = 'RoomKeyMissingError'
  }
}

/** A plain (unsealed) update in an encrypted room: never applied. */
export class PlaintextInEncryptedRoomError extends Error {
  static override readonly name = 'PlaintextInEncryptedRoomError'
  constructor() {
    super('Unencrypted update in an encrypted room')
    this.name = 'PlaintextInEncryptedRoomError'
  }
}

/**
 * Removing other members of a private room is for its creator (any device of the creator's user)
 * and org admins who are members; this device is neither.
 */
export class NotRoomRemoverError extends Error {
  static override readonly name = 'NotRoomRemoverError'
  constructor() {
    super('Only the creator of this private room or an org admin removes other members')
    this.name = 'NotRoomRemoverError'
  }
}
