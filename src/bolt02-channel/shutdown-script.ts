// The forms a shutdown (and upfront_shutdown_script) scriptpubkey may take.

export interface ShutdownScriptOptions {
  /** option_shutdown_anysegwit negotiated. */
  readonly anysegwit: boolean;
  /** option_simple_close negotiated (OP_RETURN outputs). */
  readonly simpleClose: boolean;
}

// BOLT #2:
//   - MUST set `scriptpubkey` in one of the following forms:
//     1. `OP_0` `20` 20-bytes (version 0 pay to witness pubkey hash), OR
//     2. `OP_0` `32` 32-bytes (version 0 pay to witness script hash), OR
//     3. if (and only if) `option_shutdown_anysegwit` is negotiated:
//       * `OP_1` through `OP_16` inclusive, followed by a single push of 2 to 40 bytes
//         (witness program versions 1 through 16)
//     4. if (and only if) `option_simple_close` is negotiated:
//       * `OP_RETURN` followed by one of:
//         * `6` to `75` inclusive followed by exactly that many bytes
//         * `76` followed by `76` to `80` followed by exactly that many bytes
export function isValidShutdownScript(s: Uint8Array, opts: ShutdownScriptOptions): boolean {
  const n = s.length;
  if (n === 22 && s[0] === 0x00 && s[1] === 20) return true;
  if (n === 34 && s[0] === 0x00 && s[1] === 32) return true;
  if (opts.anysegwit && n >= 4 && s[0]! >= 0x51 && s[0]! <= 0x60) {
    const len = s[1]!;
    return len >= 2 && len <= 40 && n === 2 + len;
  }
  if (opts.simpleClose && n >= 2 && s[0] === 0x6a) {
    const first = s[1]!;
    if (first >= 6 && first <= 75) return n === 2 + first;
    if (first === 76 && n >= 3) {
      const len = s[2]!;
      return len >= 76 && len <= 80 && n === 3 + len;
    }
  }
  return false;
}
