/** The one `sodium-native` function Parley uses (the package ships no types). */
declare module 'sodium-native' {
  /** Salsa20 XOR from block `ic` on: `c` = `m` XOR keystream(`n`, `k`). */
  export function crypto_stream_salsa20_xor_ic(
    c: Uint8Array,
    m: Uint8Array,
    n: Uint8Array,
    ic: number,
    k: Uint8Array,
  ): void
}
