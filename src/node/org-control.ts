/**
 * The org's part of the control API of a running serve (`/api/ctl/org`, `invite`, `revoke`,
 * `role`) and the same operations on a peer of a one-shot command.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Org } from '../core/org.ts'
import type { Role } from '../crdt/org-records.ts'
import { sendJson } from './http.ts'

export interface OrgInfo {
  name: string
  orgId: string
  members: ReturnType<Org['members']>
}

export const orgInfo = (org: Org): OrgInfo => ({
  name: org.name,
  orgId: org.orgId,
  members: org.members(),
})

const ROLES: readonly Role[] = ['member', 'admin', 'peer']

/** An invitation and its links; `webUrls` are the serve's https addresses, if it has any. */
export async function createInviteFor(
  org: Org,
  opts: { role: string; expiresInMs: number; addrs: string[]; webUrls: string[] },
): Promise<{ code: string; links: string[]; role: Role; expires: number }> {
  const role = ROLES.find((r) => r === opts.role)
  if (role === undefined) throw new RangeError(`no role ${opts.role} (member, admin or peer)`)
  const { code, invitation } = await org.createInvite({
    role,
    expiresInMs: opts.expiresInMs,
    addrs: opts.addrs,
  })
  return {
    code,
    links: opts.webUrls.map((u) => `${u.replace(/\/$/, '')}/#invite=${code}`),
    role,
    expires: invitation.expires,
  }
}

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0
  const chunks: Buffer[] = []
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length
    if (size > 64 * 1024) throw new Error('request too large')
    chunks.push(c)
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>
}

/** Handles the org paths; false when `path` is not one of them. */
export async function orgControl(
  org: Org | undefined,
  links: { addrs: () => string[]; webUrls: () => string[] },
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<boolean> {
  if (!['org', 'invite', 'revoke', 'role'].includes(path)) return false
  if (org === undefined) {
    sendJson(res, 409, { error: 'this peer belongs to no organisation (parley init --org NAME)' })
    return true
  }
  try {
    switch (path) {
      case 'org':
        sendJson(res, 200, orgInfo(org))
        return true
      case 'invite': {
        const b = await body(req)
        const made = await createInviteFor(org, {
          role: String(b.role ?? 'member'),
          expiresInMs: Number(b.expiresInMs ?? 7 * 86_400_000),
          addrs: links.addrs(),
          webUrls: links.webUrls(),
        })
        sendJson(res, 200, made)
        return true
      }
      case 'revoke': {
        const b = await body(req)
        await org.revoke(String(b.userId))
        sendJson(res, 200, { revoked: String(b.userId) })
        return true
      }
      default: {
        const b = await body(req)
        const role = b.role === 'admin' ? 'admin' : b.role === 'member' ? 'member' : undefined
        if (role === undefined) throw new RangeError('role must be admin or member')
        await org.setRole(String(b.userId), role)
        sendJson(res, 200, { userId: String(b.userId), role })
        return true
      }
    }
  } catch (err) {
    const e = err as Error
    sendJson(res, e.name === 'OrgPermissionError' || e.name === 'RangeError' ? 403 : 500, {
      error: e.message,
    })
    return true
  }
}
