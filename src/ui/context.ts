/** Typed Svelte context for the signed-in app's state (keyed by a Symbol, never a string). */
import { getContext, setContext } from 'svelte'
import type { ClientState } from './state/client.svelte.ts'

const KEY = Symbol('parley:client')

export function setClientContext(state: ClientState): ClientState {
  return setContext(KEY, state)
}

export function getClientContext(): ClientState {
  const state = getContext<ClientState | undefined>(KEY)
  if (state === undefined) throw new Error('no ClientState in context (render inside Shell)')
  return state
}
