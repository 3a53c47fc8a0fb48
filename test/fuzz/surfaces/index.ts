/** Every fuzz surface, built from one deterministic {@link World}. */
import type { Surface } from '../engine.ts'
import { buildWorld } from '../fixtures.ts'
import { keyRecordSurface, sealedSurface } from './e2ee.ts'
import { fileFrameSurface, manifestSurface } from './files.ts'
import {
  announceSurface,
  directorySurface,
  localStateSurface,
  presenceSurface,
  typingSurface,
} from './gossip.ts'
import {
  entrySurface,
  pushSurface,
  streamFramesSurface,
  syncFrameSurface,
  validFrames,
} from './history.ts'
import {
  inviteCodeSurface,
  linkCodeSurface,
  orgRecordSurface,
  orgSettingsSurface,
  proofSurface,
} from './org.ts'
import { snapshotSurface, yjsUpdateSurface } from './room-doc.ts'

/** Names of every surface, in the order they run. */
export const SURFACES = [
  'yjs-update',
  'snapshot',
  'sync-frame',
  'gossip-push',
  'entry',
  'stream-frames',
  'presence',
  'room-announce',
  'typing',
  'directory-record',
  'file-frame',
  'manifest',
  'org-record',
  'invite-code',
  'link-code',
  'admission-proof',
  'org-settings',
  'key-record',
  'sealed-update',
  'local-state',
] as const
export type SurfaceName = (typeof SURFACES)[number]

/** Builds the surface `name` (each gets its own world: surfaces keep state). */
export async function buildSurface(name: SurfaceName): Promise<Surface> {
  const w = await buildWorld()
  switch (name) {
    case 'yjs-update':
      return yjsUpdateSurface(w)
    case 'snapshot':
      return snapshotSurface(w)
    case 'sync-frame':
      return syncFrameSurface(await validFrames(w))
    case 'gossip-push':
      return pushSurface(await validFrames(w))
    case 'entry':
      return entrySurface(w)
    case 'stream-frames':
      return streamFramesSurface(await validFrames(w))
    case 'presence':
      return presenceSurface(w)
    case 'room-announce':
      return announceSurface(await validFrames(w))
    case 'typing':
      return typingSurface(w)
    case 'directory-record':
      return directorySurface()
    case 'file-frame':
      return fileFrameSurface()
    case 'manifest':
      return manifestSurface()
    case 'org-record':
      return orgRecordSurface(w)
    case 'invite-code':
      return inviteCodeSurface(w)
    case 'link-code':
      return linkCodeSurface(w)
    case 'admission-proof':
      return proofSurface(w)
    case 'org-settings':
      return orgSettingsSurface(w)
    case 'key-record':
      return keyRecordSurface(w)
    case 'sealed-update':
      return sealedSurface(w)
    case 'local-state':
      return localStateSurface()
  }
}
