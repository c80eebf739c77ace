// BOLT 8 transport: Noise_XK handshake and message framing, pure (bytes in, bytes out).
export * from './errors.ts';
export { MAX_MESSAGE_LENGTH, MAX_FRAME_SIZE, LENGTH_HEADER_SIZE, CipherState, Encryptor, Decryptor, type Decrypted } from './cipher.ts';
export * from './handshake.ts';
export * from './handshake-stream.ts';
