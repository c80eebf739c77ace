// The BOLT 8 Noise_XK handshake as pure functions of (state, act bytes). Ephemeral keys come in as
// arguments; the node's static key is used only through `LocalKey.ecdh`, so a signer can hold it.
import { err, ok, type Result } from '../core/result.ts';
import { ecdh, isPrivateKey, isPublicKey, publicKeyOf, sha256 } from '../crypto/index.ts';
import { hkdf2, nonceOf, open, seal, TAG_LENGTH } from './chachapoly.ts';
import { Decryptor, Encryptor } from './cipher.ts';
import type { TransportError } from './errors.ts';

// BOLT #8:
//    * **Act One**: 50 bytes
//    * **Act Two**: 50 bytes
//    * **Act Three**: 66 bytes
export const ACT_ONE_SIZE = 50;
export const ACT_TWO_SIZE = 50;
export const ACT_THREE_SIZE = 66;

const PUBKEY_SIZE = 33;
const VERSION = 0;
const EMPTY = new Uint8Array(0);
const NONCE_0 = nonceOf(0);
const NONCE_1 = nonceOf(1);

/** Our static identity: its public key, and ECDH with its secret (SHA256 of the compressed point). */
export interface LocalKey {
  readonly publicKey: Uint8Array;
  ecdh(remotePubkey: Uint8Array): Uint8Array;
}

export function localKeyFromSecret(secret: Uint8Array): Result<LocalKey, TransportError> {
  if (!isPrivateKey(secret)) return err({ kind: 'bad-local-key', which: 'static' });
  const s = Uint8Array.from(secret);
  return ok({ publicKey: publicKeyOf(s), ecdh: (p) => ecdh(p, s) });
}

/** The two directions' keys once the handshake is over. */
export interface SessionKeys {
  readonly sendingKey: Uint8Array;
  readonly receivingKey: Uint8Array;
  readonly chainingKey: Uint8Array;
}

export interface Session {
  readonly remotePubkey: Uint8Array;
  readonly keys: SessionKeys;
  readonly encryptor: Encryptor;
  readonly decryptor: Decryptor;
}

function session(remotePubkey: Uint8Array, keys: SessionKeys): Session {
  return {
    remotePubkey,
    keys,
    // BOLT #8:
    // 8. `rck = sck = ck`
    encryptor: new Encryptor(keys.sendingKey, keys.chainingKey),
    decryptor: new Decryptor(keys.receivingKey, keys.chainingKey),
  };
}

interface Symmetric {
  readonly ck: Uint8Array;
  readonly h: Uint8Array;
}

const PROTOCOL_NAME = new TextEncoder().encode('Noise_XK_secp256k1_ChaChaPoly_SHA256');
const PROLOGUE = new TextEncoder().encode('lightning');
// BOLT #8:
//  1. `h = SHA-256(protocolName)`
const PROTOCOL_HASH = sha256(PROTOCOL_NAME);
// BOLT #8:
//  2. `ck = h`
const INITIAL_CK = PROTOCOL_HASH;
// BOLT #8:
//  3. `h = SHA-256(h || prologue)`
const INITIAL_H = sha256(PROTOCOL_HASH, PROLOGUE);

/** Both sides mix in the responder's static key. */
function initialState(responderPubkey: Uint8Array): Symmetric {
  return { ck: INITIAL_CK, h: sha256(INITIAL_H, responderPubkey) };
}

function isCompressedPubkey(p: Uint8Array): boolean {
  return p.length === PUBKEY_SIZE && (p[0] === 2 || p[0] === 3) && isPublicKey(p);
}

function ephemeralPubkey(secret: Uint8Array): Result<Uint8Array, TransportError> {
  if (!isPrivateKey(secret)) return err({ kind: 'bad-local-key', which: 'ephemeral' });
  return ok(publicKeyOf(secret));
}

/** The 1 + 33 + 16 layout shared by acts one and two: the sender side. */
function writeEphemeralAct(
  st: Symmetric,
  ePub: Uint8Array,
  ss: Uint8Array,
): { st: Symmetric; act: Uint8Array; temp: Uint8Array } {
  const h1 = sha256(st.h, ePub);
  const [ck, temp] = hkdf2(st.ck, ss);
  const c = seal(temp, NONCE_0, h1, EMPTY);
  const act = new Uint8Array(1 + PUBKEY_SIZE + TAG_LENGTH);
  act[0] = VERSION;
  act.set(ePub, 1);
  act.set(c, 1 + PUBKEY_SIZE);
  return { st: { ck, h: sha256(h1, c) }, act, temp };
}

/** The receiver side of acts one and two: checks size, version, key, and MAC. */
function readEphemeralAct(
  actNo: 1 | 2,
  st: Symmetric,
  act: Uint8Array,
  ecdhWith: (re: Uint8Array) => Uint8Array,
): Result<{ st: Symmetric; re: Uint8Array; temp: Uint8Array }, TransportError> {
  const size = actNo === 1 ? ACT_ONE_SIZE : ACT_TWO_SIZE;
  if (act.length !== size)
    return err({ kind: 'act-read-failed', act: actNo, expected: size, got: act.length });
  const v = act[0] as number;
  if (v !== VERSION) return err({ kind: 'bad-version', act: actNo, version: v });
  const re = act.slice(1, 1 + PUBKEY_SIZE);
  const c = act.subarray(1 + PUBKEY_SIZE);
  if (!isCompressedPubkey(re)) return err({ kind: 'bad-pubkey', act: actNo });
  const h1 = sha256(st.h, re);
  const [ck, temp] = hkdf2(st.ck, ecdhWith(re));
  if (open(temp, NONCE_0, h1, c) === null) return err({ kind: 'bad-tag', act: actNo });
  return ok({ st: { ck, h: sha256(h1, c) }, re, temp });
}

// ---- initiator ----

export interface InitiatorAwaitingActTwo {
  readonly phase: 'initiator-awaiting-act-two';
  readonly st: Symmetric;
  readonly local: LocalKey;
  readonly remotePubkey: Uint8Array;
  readonly ephemeralSecret: Uint8Array;
}

export interface InitiatorOptions {
  readonly local: LocalKey;
  readonly remotePubkey: Uint8Array;
  /** A fresh random secp256k1 secret for this session only. */
  readonly ephemeralSecret: Uint8Array;
}

/** Act one, `-> e, es`. */
export function initiatorActOne(
  opts: InitiatorOptions,
): Result<{ state: InitiatorAwaitingActTwo; act: Uint8Array }, TransportError> {
  if (!isCompressedPubkey(opts.remotePubkey)) return err({ kind: 'bad-remote-pubkey' });
  const ePub = ephemeralPubkey(opts.ephemeralSecret);
  if (!ePub.ok) return ePub;
  const rs = Uint8Array.from(opts.remotePubkey);
  const e = Uint8Array.from(opts.ephemeralSecret);
  const w = writeEphemeralAct(initialState(rs), ePub.value, ecdh(rs, e));
  return ok({
    state: {
      phase: 'initiator-awaiting-act-two',
      st: w.st,
      local: opts.local,
      remotePubkey: rs,
      ephemeralSecret: e,
    },
    act: w.act,
  });
}

/** Reads act two, `<- e, ee`, and writes act three, `-> s, se`. */
export function initiatorActTwo(
  state: InitiatorAwaitingActTwo,
  act2: Uint8Array,
): Result<{ act: Uint8Array; session: Session }, TransportError> {
  const r = readEphemeralAct(2, state.st, act2, (re) => ecdh(re, state.ephemeralSecret));
  if (!r.ok) return r;
  const { st, re, temp: tempK2 } = r.value;
  // BOLT #8:
  // 1. `c = encryptWithAD(temp_k2, 1, h, s.pub.serializeCompressed())`
  const c = seal(tempK2, NONCE_1, st.h, state.local.publicKey);
  const h = sha256(st.h, c);
  const [ck, tempK3] = hkdf2(st.ck, state.local.ecdh(re));
  const t = seal(tempK3, NONCE_0, h, EMPTY);
  // BOLT #8:
  // 6. `sk, rk = HKDF(ck, zero)`
  const [sk, rk] = hkdf2(ck, EMPTY);
  const act = new Uint8Array(ACT_THREE_SIZE);
  act[0] = VERSION;
  act.set(c, 1);
  act.set(t, 1 + c.length);
  return ok({
    act,
    session: session(state.remotePubkey, { sendingKey: sk, receivingKey: rk, chainingKey: ck }),
  });
}

// ---- responder ----

export interface ResponderAwaitingActOne {
  readonly phase: 'responder-awaiting-act-one';
  readonly st: Symmetric;
  readonly local: LocalKey;
  readonly ephemeralSecret: Uint8Array;
  readonly ephemeralPubkey: Uint8Array;
}

export interface ResponderAwaitingActThree {
  readonly phase: 'responder-awaiting-act-three';
  readonly st: Symmetric;
  readonly tempK2: Uint8Array;
  readonly ephemeralSecret: Uint8Array;
}

export interface ResponderOptions {
  readonly local: LocalKey;
  readonly ephemeralSecret: Uint8Array;
}

export function responderStart(opts: ResponderOptions): Result<ResponderAwaitingActOne, TransportError> {
  const ePub = ephemeralPubkey(opts.ephemeralSecret);
  if (!ePub.ok) return ePub;
  return ok({
    phase: 'responder-awaiting-act-one',
    st: initialState(opts.local.publicKey),
    local: opts.local,
    ephemeralSecret: Uint8Array.from(opts.ephemeralSecret),
    ephemeralPubkey: ePub.value,
  });
}

/** Reads act one, `-> e, es`, and writes act two, `<- e, ee`. */
export function responderActOne(
  state: ResponderAwaitingActOne,
  act1: Uint8Array,
): Result<{ state: ResponderAwaitingActThree; act: Uint8Array }, TransportError> {
  const r = readEphemeralAct(1, state.st, act1, (re) => state.local.ecdh(re));
  if (!r.ok) return r;
  const w = writeEphemeralAct(r.value.st, state.ephemeralPubkey, ecdh(r.value.re, state.ephemeralSecret));
  return ok({
    state: {
      phase: 'responder-awaiting-act-three',
      st: w.st,
      tempK2: w.temp,
      ephemeralSecret: state.ephemeralSecret,
    },
    act: w.act,
  });
}

/** Reads act three, `-> s, se`: learns and authenticates the initiator's node id. */
export function responderActThree(
  state: ResponderAwaitingActThree,
  act3: Uint8Array,
): Result<Session, TransportError> {
  if (act3.length !== ACT_THREE_SIZE) {
    return err({ kind: 'act-read-failed', act: 3, expected: ACT_THREE_SIZE, got: act3.length });
  }
  const v = act3[0] as number;
  if (v !== VERSION) return err({ kind: 'bad-version', act: 3, version: v });
  const c = act3.subarray(1, 1 + PUBKEY_SIZE + TAG_LENGTH);
  const t = act3.subarray(1 + PUBKEY_SIZE + TAG_LENGTH);
  // BOLT #8:
  // 4. `rs = decryptWithAD(temp_k2, 1, h, c)`
  const rs = open(state.tempK2, NONCE_1, state.st.h, c);
  if (rs === null) return err({ kind: 'bad-ciphertext', act: 3 });
  if (!isCompressedPubkey(rs)) return err({ kind: 'bad-pubkey', act: 3 });
  const h = sha256(state.st.h, c);
  const [ck, tempK3] = hkdf2(state.st.ck, ecdh(rs, state.ephemeralSecret));
  if (open(tempK3, NONCE_0, h, t) === null) return err({ kind: 'bad-tag', act: 3 });
  // BOLT #8:
  // 9. `rk, sk = HKDF(ck, zero)`
  const [rk, sk] = hkdf2(ck, EMPTY);
  return ok(session(Uint8Array.from(rs), { sendingKey: sk, receivingKey: rk, chainingKey: ck }));
}
