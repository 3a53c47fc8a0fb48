/**
 * The signed-in app's shared state: rooms (with unread counts), people (with presence), the
 * connection, who we are and which room is open. Snapshots from the core client in `$state.raw`.
 */
import type {
  ConnectionView,
  Me,
  ParleyClient,
  PersonView,
  RoomSummary,
} from '../../core/client.ts'
import type { Unsubscribe } from '../../core/index.ts'
import { FilesState } from './files.svelte.ts'

export class ClientState {
  rooms = $state.raw<readonly RoomSummary[]>([])
  people = $state.raw<readonly PersonView[]>([])
  connection = $state.raw<ConnectionView>({ status: 'offline', peers: [] })
  me = $state.raw<Me>()
  current = $state.raw('general')
  readonly client: ParleyClient
  /** Uploads, downloads and file URLs. */
  readonly files: FilesState
  readonly #off: Unsubscribe[] = []

  constructor(client: ParleyClient) {
    this.client = client
    this.files = new FilesState(client)
    this.me = client.me
    this.current = client.local.data.current
    const sync = {
      rooms: () => (this.rooms = client.rooms()),
      people: () => (this.people = client.people()),
      connection: () => (this.connection = client.connection()),
      me: () => (this.me = client.me),
    }
    for (const [channel, fn] of Object.entries(sync)) {
      fn()
      this.#off.push(client.on(channel, fn))
    }
    if (!this.rooms.some((r) => r.id === this.current)) this.current = 'general'
  }

  /** Name of an author (directory, then presence), or a short form of its id. */
  nameOf(author: string): string {
    void this.people // re-evaluated in templates whenever people change
    return this.client.nameOf(author)
  }

  /** The room as the sidebar and header title it. */
  titleOf(room: RoomSummary): string {
    if (room.kind === 'dm' && room.peer !== undefined) return this.nameOf(room.peer)
    // a private room whose sealed name we cannot read (its keys not here yet)
    return room.kind === 'private' && room.name === room.id ? 'Private room' : room.name
  }

  open(room: string): void {
    this.current = room
    void this.client.local.update((d) => (d.current = room))
  }

  async startDm(author: string): Promise<void> {
    this.open(await this.client.startDm(author))
  }

  async leave(room: string): Promise<void> {
    await this.client.leaveRoom(room)
    if (this.current === room) this.open('general')
  }

  destroy(): void {
    this.files.destroy()
    for (const off of this.#off.splice(0)) off()
  }
}
