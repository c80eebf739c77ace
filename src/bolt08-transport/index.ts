// BOLT 8 transport: Noise_XK handshake and message framing, pure (bytes in, bytes out).

export {
  CipherState,
  type Decrypted,
  Decryptor,
  Encryptor,
  LENGTH_HEADER_SIZE,
  MAX_FRAME_SIZE,
  MAX_MESSAGE_LENGTH,
} from './cipher.ts';
export * from './errors.ts';
export * from './handshake.ts';
export * from './handshake-stream.ts';
