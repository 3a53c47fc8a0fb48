/**
 * `parley` — the command line of a Parley Node peer.
 */
import { parseArgs } from 'node:util'
import { DEFAULT_DATA_DIR } from './data-dir.ts'
import { resolve } from 'node:path'
import { UsageError, type CliOptions } from './options.ts'
import { parseSize } from './file-io.ts'
import { parseDuration } from './duration.ts'

const HELP = `parley — peer-to-peer office messenger

Usage:
  parley serve [--port N] [--host ADDR] [--tcp-port N] [--no-mdns]   run the always-on peer
               [--cert FILE --key FILE]                               (own TLS certificate)
               [--file-quota SIZE]                                    (e.g. 20GB: shared files kept)
               [--bulk-port N]                                        (peers' file transfers; default random)
  parley send --room NAME [--timeout S] TEXT                         post a message
  parley send --room NAME --file PATH [TEXT]                          share a file (any size)
  parley get FILE-ID --out PATH [--json]                              fetch a shared file
  parley read --room NAME [--follow] [--json]                         print a room's history
  parley rooms                                                        rooms this peer holds
  parley peers                                                        people and connections
  parley dial MULTIADDR                                               connect to a peer

Organisation (only invited peers and people get in):
  parley init --org NAME                        make an organisation; this peer holds its root key
  parley serve --org NAME                       the same, on the first run of a serve
  parley invite [--role member|admin|peer] [--expires 7d]   a single-use invitation code and link
  parley join CODE                              this peer joins an organisation (invite --role peer)
  parley members                                the signed org directory
  parley revoke USER                            remove a member (their peers are cut off)
  parley role USER admin|member                 promote or demote

Options for every command:
  --data DIR        data directory (default: ${DEFAULT_DATA_DIR})
  --peer MULTIADDR  also connect to this peer (repeatable), where mDNS cannot reach
  --no-mdns         do not discover peers on the LAN by multicast DNS
  --name NAME       display name announced to others
  -h, --help        this help

While \`parley serve\` runs on a data directory, the other commands work through it.
`

const COMMANDS = [
  'serve',
  'send',
  'get',
  'read',
  'rooms',
  'peers',
  'dial',
  'init',
  'invite',
  'join',
  'members',
  'revoke',
  'role',
]

const ORG_COMMANDS = ['init', 'invite', 'join', 'members', 'revoke', 'role']

export function parseCli(argv: string[]): CliOptions | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      data: { type: 'string' },
      peer: { type: 'string', multiple: true },
      'no-mdns': { type: 'boolean' },
      name: { type: 'string' },
      room: { type: 'string' },
      follow: { type: 'boolean' },
      json: { type: 'boolean' },
      timeout: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'tcp-port': { type: 'string' },
      'bulk-port': { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      file: { type: 'string' },
      out: { type: 'string' },
      'file-quota': { type: 'string' },
      org: { type: 'string' },
      role: { type: 'string' },
      expires: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  const [command, ...rest] = positionals
  if (values.help === true || command === undefined || command === 'help') return 'help'
  // Refuse a bad command line before any peer starts (and takes the data directory's lock).
  if (!COMMANDS.includes(command)) throw new UsageError(`unknown command ${command}`)
  if ((command === 'send' || command === 'read') && values.room === undefined)
    throw new UsageError(`${command} needs --room NAME`)
  if (command === 'send' && rest.join(' ') === '' && values.file === undefined)
    throw new UsageError('send needs the text to post')
  if (command === 'get' && (!/^[0-9a-f]{64}$/.test(rest[0] ?? '') || values.out === undefined))
    throw new UsageError('get needs a FILE-ID (64 hex digits) and --out PATH')
  const quota = values['file-quota'] === undefined ? undefined : parseSize(values['file-quota'])
  if (values['file-quota'] !== undefined && quota === undefined)
    throw new UsageError(`--file-quota must be a size like 20GB, not ${values['file-quota']}`)
  if (command === 'dial' && rest[0] === undefined) throw new UsageError('dial needs a MULTIADDR')
  if (command === 'init' && (values.org ?? '').trim() === '')
    throw new UsageError('init needs --org NAME')
  if (command === 'join' && rest[0] === undefined) throw new UsageError('join needs the CODE')
  if (command === 'revoke' && rest[0] === undefined) throw new UsageError('revoke needs a USER')
  if (command === 'role' && (rest[0] === undefined || !['admin', 'member'].includes(rest[1] ?? '')))
    throw new UsageError('role needs a USER and admin or member')
  const role = values.role ?? 'member'
  if (!['member', 'admin', 'peer'].includes(role))
    throw new UsageError('--role must be member, admin or peer')
  const expiresInMs = parseDuration(values.expires ?? '7d')
  if (expiresInMs === undefined)
    throw new UsageError('--expires must be a duration like 7d, 12h or 30m (1 s to 366 d)')
  if ((values.cert === undefined) !== (values.key === undefined))
    throw new UsageError('--cert FILE and --key FILE go together')
  const num = (v: string | undefined, what: string, def: number): number => {
    if (v === undefined) return def
    const n = Number(v)
    if (!Number.isFinite(n) || n < 0)
      throw new UsageError(`${what} must be a number, not ${JSON.stringify(v)}`)
    return n
  }
  return {
    command,
    positionals: rest,
    data: values.data ?? process.env.PARLEY_DATA ?? DEFAULT_DATA_DIR,
    peers: values.peer ?? [],
    mdns: values['no-mdns'] !== true,
    name: values.name,
    room: values.room,
    follow: values.follow === true,
    json: values.json === true,
    timeoutMs: num(values.timeout, '--timeout', 10) * 1000,
    port: num(values.port, '--port', 4040),
    host: values.host ?? '0.0.0.0',
    tcpPort:
      values['tcp-port'] === undefined ? undefined : num(values['tcp-port'], '--tcp-port', 0),
    bulkPort:
      values['bulk-port'] === undefined ? undefined : num(values['bulk-port'], '--bulk-port', 0),
    cert: values.cert,
    key: values.key,
    file: values.file === undefined ? undefined : resolve(values.file),
    out: values.out === undefined ? undefined : resolve(values.out),
    fileQuota: quota,
    org: values.org,
    role,
    expiresInMs,
  }
}

export async function main(argv: string[]): Promise<number> {
  let opts: CliOptions | 'help'
  try {
    opts = parseCli(argv)
  } catch (err) {
    process.stderr.write(`parley: ${(err as Error).message}\n\n${HELP}`)
    return 2
  }
  if (opts === 'help') {
    process.stdout.write(HELP)
    return 0
  }
  try {
    // Loaded on demand: help, usage errors and commands through a serve never load libp2p.
    if (opts.command === 'serve') return await (await import('./serve.ts')).serve(opts)
    if (ORG_COMMANDS.includes(opts.command))
      return await (await import('./org-commands.ts')).runOrgCommand(opts)
    return await (await import('./commands.ts')).runCommand(opts)
  } catch (err) {
    const e = err as Error
    process.stderr.write(`parley: ${e.name === 'UsageError' ? '' : ''}${e.message}\n`)
    return e.name === 'UsageError' ? 2 : 1
  }
}
