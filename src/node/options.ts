/** Parsed command-line options, shared by the CLI commands. */
export interface CliOptions {
  command: string
  positionals: string[]
  data: string
  peers: string[]
  mdns: boolean
  name: string | undefined
  room: string | undefined
  follow: boolean
  json: boolean
  timeoutMs: number
  port: number
  host: string
  tcpPort: number | undefined
  /** The bulk side channel's TCP port (Node ↔ Node file chunks). @default a random one */
  bulkPort: number | undefined
  /** The operator's own PEM certificate (chain) and key for the web port. */
  cert: string | undefined
  key: string | undefined
  /** `send --file PATH`: share this file. */
  file: string | undefined
  /** `get --out PATH`: where the file goes. */
  out: string | undefined
  /** `serve --file-quota SIZE`: bytes of shared files kept at most. */
  fileQuota: number | undefined
  /** `init --org NAME`, `serve --org NAME`: the organisation to create. */
  org: string | undefined
  /** `invite --role`. */
  role: string
  /** `invite --expires` in ms. */
  expiresInMs: number
}

export class UsageError extends Error {
  static override readonly name = 'UsageError'
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}
