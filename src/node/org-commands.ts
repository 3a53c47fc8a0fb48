/**
 * `parley init | join | invite | members | revoke | role`: init and join write the data directory's
 * org (no peer runs); the others go through a running serve on that directory, else run as a
 * short-lived peer of their own that hands the new records to the peers it reaches.
 */
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { settingOrCreate } from '../core/store.ts'
import { callControl, findControl } from './control.ts'
import { lockDataDir } from './data-dir.ts'
import { createNodeSigner } from './crypto-node.ts'
import { openSqliteStore } from './sqlite-store.ts'
import { createOrgIn, joinOrgIn } from './org-node.ts'
import { createInviteFor, orgInfo, type OrgInfo } from './org-control.ts'
import { UsageError, type CliOptions } from './options.ts'
import type { NodePeer } from './peer.ts'

const out = (s: string): void => void process.stdout.write(s + '\n')

async function json<T>(res: Response): Promise<T> {
  const body = (await res.json()) as T & { error?: string }
  if (!res.ok) throw new Error(body.error ?? `control API answered ${res.status}`)
  return body
}

/** init and join: the directory's org, written with the directory locked. */
async function writeOrg(o: CliOptions): Promise<number> {
  if (findControl(o.data) !== undefined)
    throw new UsageError(`parley serve runs on ${o.data}: stop it first`)
  const lock = lockDataDir(o.data)
  const store = openSqliteStore(join(o.data, 'history.db'))
  try {
    const seed = await settingOrCreate(store, 'device-key', async () => randomBytes(32))
    const signer = createNodeSigner(seed)
    const name = o.name ?? hostname()
    if (o.command === 'init') {
      const org = await createOrgIn(store, signer, o.org!.trim(), name)
      out(`organisation ${org.name} created (id ${org.orgId})`)
      out(`this peer holds its root key; invite people with: parley invite`)
      return 0
    }
    const r = await joinOrgIn(store, signer, o.positionals[0]!, name)
    out(`joined ${r.org} as ${r.userId} (${r.role})`)
    return 0
  } finally {
    await store.close()
    lock.release()
  }
}

function printMembers(info: OrgInfo): void {
  out(`organisation ${info.name} (id ${info.orgId})`)
  for (const m of info.members)
    out([m.userId, m.revoked ? `${m.role} (revoked)` : m.role, m.name].join('\t'))
}

function printInvite(made: { code: string; links: string[]; role: string; expires: number }): void {
  out(`invitation (${made.role}, single use, expires ${new Date(made.expires).toISOString()}):`)
  out(made.code)
  for (const l of made.links) out(l)
}

export async function runOrgCommand(o: CliOptions): Promise<number> {
  if (o.command === 'init' || o.command === 'join') return writeOrg(o)
  const control = findControl(o.data)
  const [user, role] = o.positionals
  if (control !== undefined) {
    switch (o.command) {
      case 'members':
        printMembers(await json<OrgInfo>(await callControl(control, 'org')))
        return 0
      case 'invite':
        printInvite(
          await json(
            await callControl(control, 'invite', {
              body: { role: o.role, expiresInMs: o.expiresInMs },
            }),
          ),
        )
        return 0
      case 'revoke':
        await json(await callControl(control, 'revoke', { body: { userId: user } }))
        out(`revoked ${user}`)
        return 0
      default:
        await json(await callControl(control, 'role', { body: { userId: user, role } }))
        out(`${user} is now ${role}`)
        return 0
    }
  }
  const { startPeer } = await import('./peer.ts')
  const peer = await startPeer({
    dataDir: o.data,
    listen: ['/ip4/0.0.0.0/tcp/0'],
    mdns: o.mdns,
    peers: o.peers,
    ...(o.name === undefined ? {} : { name: o.name }),
  })
  try {
    return await standalone(o, peer, user, role)
  } finally {
    await peer.stop()
  }
}

async function standalone(
  o: CliOptions,
  peer: NodePeer,
  user: string | undefined,
  role: string | undefined,
): Promise<number> {
  const { org, orgRoom, messenger } = peer
  if (org === undefined || orgRoom === undefined)
    throw new UsageError(`${o.data} belongs to no organisation (parley init --org NAME)`)
  await settle(peer, o)
  switch (o.command) {
    case 'members':
      printMembers(orgInfo(org))
      return 0
    case 'invite':
      printInvite(
        await createInviteFor(org, {
          role: o.role,
          expiresInMs: o.expiresInMs,
          addrs: o.peers,
          webUrls: [],
        }),
      )
      break
    case 'revoke':
      await org.revoke(user!)
      out(`revoked ${user}`)
      break
    default:
      await org.setRole(user!, role === 'admin' ? 'admin' : 'member')
      out(`${user} is now ${role}`)
  }
  // hand the new record to whoever we reach before this short-lived peer exits
  await orgRoom.settled()
  const peers = messenger.net.peers()
  const signal = AbortSignal.timeout(Math.min(o.timeoutMs, 5_000))
  await Promise.any(peers.map((p) => messenger.pushTo(p, 'sys.org', signal))).catch(() => {
    process.stderr.write(
      'parley: no peer reached: the record goes out on the next run of a peer on this directory\n',
    )
  })
  return 0
}

/** Waits (bounded) for a first peer, then catches up so the org state is current. */
async function settle(peer: NodePeer, o: CliOptions): Promise<void> {
  const { messenger } = peer
  if (o.peers.length > 0 && messenger.net.peers().length === 0) {
    await new Promise<void>((res) => {
      const t = setTimeout(done, 5_000)
      const off = messenger.net.onPeers((p) => p.length > 0 && done())
      function done(): void {
        clearTimeout(t)
        off()
        res()
      }
    })
  }
  await messenger.syncNow(AbortSignal.timeout(o.timeoutMs)).catch(() => undefined)
  await peer.orgRoom?.settled()
}
