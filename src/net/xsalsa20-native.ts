/**
 * Salsa20 from libsodium (`sodium-native`, prebuilt for each platform inside the npm package): the
 * private network XORs every byte each way with it, and native code does that ~5× cheaper than
 * the WebAssembly `xsalsa20` package `@libp2p/pnet` uses and ~10× cheaper than `@noble/ciphers`
 * (`npx tsx bench/micro/xsalsa20.ts`). Node only: the browser bundle aliases `sodium-native` away.
 */
import { crypto_stream_salsa20_xor_ic } from 'sodium-native'
import type { SalsaXor } from './xsalsa20.ts'

export const sodiumSalsa20: SalsaXor = (input, output, nonce, counter, key) => {
  crypto_stream_salsa20_xor_ic(output, input, nonce, counter, key)
}
