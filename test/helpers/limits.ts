/**
 * How long one decode or validation of a hostile input may take before a test calls it a hang
 * (the yjs#479/#498/#687 class: loops and memory blow-ups, seconds to forever). This is a hang
 * detector with room for GC pauses on a loaded 2-core CI machine, not a speed target: speed is
 * measured in bench/ (see docs/benchmarks.md).
 */
export const HANG_MS = 1_000
