/** The part of xmpp.js (`@xmpp/client`, untyped) the side-by-side bench uses. */
declare module '@xmpp/client' {
  export interface Element {
    name: string
    attrs: Record<string, string | undefined>
    is(name: string, xmlns?: string): boolean
    getChild(name: string, xmlns?: string): Element | undefined
    getChildText(name: string, xmlns?: string): string | null
    getChildren(name: string, xmlns?: string): Element[]
    text(): string
  }
  export interface Client {
    on(event: 'stanza', cb: (el: Element) => void): void
    on(event: 'error' | 'offline' | 'online', cb: (arg: unknown) => void): void
    start(): Promise<unknown>
    stop(): Promise<unknown>
    send(el: Element): Promise<void>
    iqCaller: { request(el: Element, timeoutMs?: number): Promise<Element> }
  }
  export function client(opts: {
    service: string
    domain: string
    resource?: string
    username?: string
    password?: string
  }): Client
  export function xml(
    name: string,
    attrs?: Record<string, string>,
    ...children: (Element | string)[]
  ): Element
}
