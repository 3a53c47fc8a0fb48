/** Typed Svelte context for the signed-in app's state (keyed by Symbols, never strings). */
import { getContext, setContext } from 'svelte'
import type { ClientState } from './state/client.svelte.ts'
import type { OrgState } from './state/org.svelte.ts'

const KEY = Symbol('parley:client')
const ORG = Symbol('parley:org')

export function setClientContext(state: ClientState): ClientState {
  return setContext(KEY, state)
}

export function getClientContext(): ClientState {
  const state = getContext<ClientState | undefined>(KEY)
  if (state === undefined) throw new Error('no ClientState in context (render inside Shell)')
  return state
}

/** The org's state, when the account belongs to an organisation. */
export function setOrgContext(state: OrgState | undefined): OrgState | undefined {
  return setContext(ORG, state)
}

export function getOrgContext(): OrgState | undefined {
  return getContext<OrgState | undefined>(ORG)
}
