// N-API binding to the system's libsecp256k1 (Debian's libsecp256k1-dev): ECDSA (the signatures and
// verifications of commitment_signed), public key creation and tweaks (per-commitment keys, onion
// blinding) and ECDH (BOLT 4 and 8). libsecp256k1 0.2 is ~1.3-1.5x faster here than the 2019 copy
// inside the `secp256k1` npm package (safegcd inversions). Optional: when this is not built,
// src/crypto/secp256k1.ts uses the package for everything. Every input is checked here (type and
// length); a bad one throws, never crashes the process.
#include <node_api.h>
#include <secp256k1.h>
#include <secp256k1_ecdh.h>
#include <secp256k1_recovery.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

// Per thread: the context, and the last public key parsed (a commitment's HTLC signatures are all
// checked against one key, and parsing a compressed key costs a square root, ~20% of a verification).
typedef struct {
  secp256k1_context *ctx;
  unsigned char last_pub[65];
  size_t last_len;
  secp256k1_pubkey last_parsed;
} state;

static state *state_of(napi_env env) {
  state *st = NULL;
  napi_get_instance_data(env, (void **)&st);
  return st;
}

static secp256k1_context *ctx_of(napi_env env) { return state_of(env)->ctx; }

// The bytes of argument i when it is a Uint8Array (a Buffer is one) of one of the allowed lengths.
static const unsigned char *bytes_arg(napi_env env, napi_value v, size_t len_a, size_t len_b, size_t *len,
                                      const char *what) {
  bool is_typed = false;
  napi_is_typedarray(env, v, &is_typed);
  if (is_typed) {
    napi_typedarray_type type;
    size_t n;
    void *data;
    napi_get_typedarray_info(env, v, &type, &n, &data, NULL, NULL);
    if (type == napi_uint8_array && (n == len_a || n == len_b)) {
      if (len) *len = n;
      return (const unsigned char *)data;
    }
  }
  napi_throw_type_error(env, NULL, what);
  return NULL;
}

// Reads up to `max` arguments into argv; throws a TypeError showing `usage` when fewer than `min` came.
// Returns how many came (0 after throwing).
static size_t args(napi_env env, napi_callback_info info, size_t min, size_t max, napi_value *argv,
                   const char *usage) {
  size_t argc = max;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < min) {
    napi_throw_type_error(env, NULL, usage);
    return 0;
  }
  return argc;
}

static napi_value new_bytes(napi_env env, const unsigned char *src, size_t n) {
  void *data;
  napi_value ab, out;
  napi_create_arraybuffer(env, n, &data, &ab);
  memcpy(data, src, n);
  napi_create_typedarray(env, napi_uint8_array, n, ab, 0, &out);
  return out;
}

// ecdsaSign(msg32, seckey32) -> { signature: Uint8Array(64) compact low-S, recid }: RFC 6979 nonces,
// so the same signature as any other libsecp256k1.
static napi_value ecdsa_sign(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc = args(env, info, 2, 2, argv, "ecdsaSign(msg32, seckey)");
  if (argc == 0) return NULL;
  const unsigned char *msg = bytes_arg(env, argv[0], 32, 32, NULL, "message must be 32 bytes");
  if (!msg) return NULL;
  const unsigned char *key = bytes_arg(env, argv[1], 32, 32, NULL, "private key must be 32 bytes");
  if (!key) return NULL;
  secp256k1_ecdsa_recoverable_signature sig;
  if (!secp256k1_ecdsa_sign_recoverable(ctx_of(env), &sig, msg, key, NULL, NULL)) {
    napi_throw_error(env, NULL, "The nonce generation function failed, or the private key was invalid");
    return NULL;
  }
  unsigned char compact[64];
  int recid = 0;
  secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx_of(env), compact, &recid, &sig);
  napi_value out, recid_v;
  napi_create_object(env, &out);
  napi_set_named_property(env, out, "signature", new_bytes(env, compact, 64));
  napi_create_int32(env, recid, &recid_v);
  napi_set_named_property(env, out, "recid", recid_v);
  return out;
}

// ecdsaVerify(sig64, msg32, pubkey33or65) -> boolean. A high-S signature is false (as libsecp256k1
// verifies); an unparseable signature or key throws.
static napi_value ecdsa_verify(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  size_t argc = args(env, info, 3, 3, argv, "ecdsaVerify(sig64, msg32, pubkey)");
  if (argc == 0) return NULL;
  size_t publen = 0;
  const unsigned char *sig64 = bytes_arg(env, argv[0], 64, 64, NULL, "signature must be 64 bytes");
  if (!sig64) return NULL;
  const unsigned char *msg = bytes_arg(env, argv[1], 32, 32, NULL, "message must be 32 bytes");
  if (!msg) return NULL;
  const unsigned char *pub = bytes_arg(env, argv[2], 33, 65, &publen, "public key must be 33 or 65 bytes");
  if (!pub) return NULL;
  state *st = state_of(env);
  secp256k1_context *ctx = st->ctx;
  secp256k1_ecdsa_signature sig;
  if (!secp256k1_ecdsa_signature_parse_compact(ctx, &sig, sig64)) {
    napi_throw_error(env, NULL, "Signature could not be parsed");
    return NULL;
  }
  if (st->last_len != publen || memcmp(st->last_pub, pub, publen) != 0) {
    st->last_len = 0;
    if (!secp256k1_ec_pubkey_parse(ctx, &st->last_parsed, pub, publen)) {
      napi_throw_error(env, NULL, "Public Key could not be parsed");
      return NULL;
    }
    memcpy(st->last_pub, pub, publen);
    st->last_len = publen;
  }
  napi_value out;
  napi_get_boolean(env, secp256k1_ecdsa_verify(ctx, &sig, msg, &st->last_parsed) == 1, &out);
  return out;
}

// The `compressed` argument (a boolean; anything else is compressed, as the package defaults).
static unsigned int flags_arg(napi_env env, napi_value v) {
  bool compressed = true;
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_boolean) napi_get_value_bool(env, v, &compressed);
  return compressed ? SECP256K1_EC_COMPRESSED : SECP256K1_EC_UNCOMPRESSED;
}

static napi_value serialize_pubkey(napi_env env, const secp256k1_pubkey *pk, unsigned int flags) {
  unsigned char out[65];
  size_t len = sizeof out;
  secp256k1_ec_pubkey_serialize(ctx_of(env), out, &len, pk, flags);
  return new_bytes(env, out, len);
}

static int parse_pubkey(napi_env env, napi_value v, secp256k1_pubkey *pk) {
  size_t len = 0;
  const unsigned char *p = bytes_arg(env, v, 33, 65, &len, "public key must be 33 or 65 bytes");
  if (!p) return 0;
  if (!secp256k1_ec_pubkey_parse(ctx_of(env), pk, p, len)) {
    napi_throw_error(env, NULL, "Public Key could not be parsed");
    return 0;
  }
  return 1;
}

// publicKeyCreate(seckey32, compressed) -> the public key.
static napi_value pubkey_create(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc = args(env, info, 1, 2, argv, "publicKeyCreate(seckey, compressed)");
  if (argc == 0) return NULL;
  const unsigned char *key = bytes_arg(env, argv[0], 32, 32, NULL, "private key must be 32 bytes");
  if (!key) return NULL;
  secp256k1_pubkey pk;
  if (!secp256k1_ec_pubkey_create(ctx_of(env), &pk, key)) {
    napi_throw_error(env, NULL, "Private Key is invalid");
    return NULL;
  }
  return serialize_pubkey(env, &pk, argc > 1 ? flags_arg(env, argv[1]) : SECP256K1_EC_COMPRESSED);
}

// publicKeyTweakAdd / publicKeyTweakMul(pubkey, tweak32, compressed) -> the tweaked key.
static napi_value pubkey_tweak(napi_env env, napi_callback_info info, int mul) {
  napi_value argv[3];
  size_t argc = args(env, info, 2, 3, argv, "publicKeyTweak(pubkey, tweak, compressed)");
  if (argc == 0) return NULL;
  secp256k1_pubkey pk;
  if (!parse_pubkey(env, argv[0], &pk)) return NULL;
  const unsigned char *tweak = bytes_arg(env, argv[1], 32, 32, NULL, "tweak must be 32 bytes");
  if (!tweak) return NULL;
  int ok = mul ? secp256k1_ec_pubkey_tweak_mul(ctx_of(env), &pk, tweak)
               : secp256k1_ec_pubkey_tweak_add(ctx_of(env), &pk, tweak);
  if (!ok) {
    napi_throw_error(env, NULL, "The tweak was out of range or the resulted public key is invalid");
    return NULL;
  }
  return serialize_pubkey(env, &pk, argc > 2 ? flags_arg(env, argv[2]) : SECP256K1_EC_COMPRESSED);
}

static napi_value pubkey_tweak_add(napi_env env, napi_callback_info info) { return pubkey_tweak(env, info, 0); }
static napi_value pubkey_tweak_mul(napi_env env, napi_callback_info info) { return pubkey_tweak(env, info, 1); }

// publicKeyAdd(a, b, compressed) -> a + b.
static napi_value pubkey_add(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  size_t argc = args(env, info, 2, 3, argv, "publicKeyAdd(a, b, compressed)");
  if (argc == 0) return NULL;
  secp256k1_pubkey a, b, sum;
  if (!parse_pubkey(env, argv[0], &a) || !parse_pubkey(env, argv[1], &b)) return NULL;
  const secp256k1_pubkey *both[2] = {&a, &b};
  if (!secp256k1_ec_pubkey_combine(ctx_of(env), &sum, both, 2)) {
    napi_throw_error(env, NULL, "The sum of the public keys is not valid");
    return NULL;
  }
  return serialize_pubkey(env, &sum, argc > 2 ? flags_arg(env, argv[2]) : SECP256K1_EC_COMPRESSED);
}

// ecdh(pubkey, seckey32) -> SHA256 of the compressed shared point (libsecp256k1's default, BOLT 4/8's).
static napi_value ecdh(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc = args(env, info, 2, 2, argv, "ecdh(pubkey, seckey)");
  if (argc == 0) return NULL;
  secp256k1_pubkey pk;
  if (!parse_pubkey(env, argv[0], &pk)) return NULL;
  const unsigned char *key = bytes_arg(env, argv[1], 32, 32, NULL, "private key must be 32 bytes");
  if (!key) return NULL;
  unsigned char out[32];
  if (!secp256k1_ecdh(ctx_of(env), out, &pk, key, NULL, NULL)) {
    napi_throw_error(env, NULL, "Scalar was invalid (zero or overflow)");
    return NULL;
  }
  return new_bytes(env, out, 32);
}

static void free_state(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  state *st = (state *)data;
  secp256k1_context_destroy(st->ctx);
  free(st);
}

// One context per thread that loads the module (the main thread and each signing worker).
static napi_value init(napi_env env, napi_value exports) {
  secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
  unsigned char seed[32];
  // Blinding against side channels; without randomness the context still signs correctly.
  if (getrandom(seed, sizeof seed, 0) == (ssize_t)sizeof seed && !secp256k1_context_randomize(ctx, seed)) {
    secp256k1_context_destroy(ctx);
    napi_throw_error(env, NULL, "secp256k1_context_randomize failed");
    return NULL;
  }
  state *st = calloc(1, sizeof *st);
  if (!st) {
    secp256k1_context_destroy(ctx);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  st->ctx = ctx;
  napi_set_instance_data(env, st, free_state, NULL);
  napi_property_descriptor props[] = {
      {"ecdsaSign", NULL, ecdsa_sign, NULL, NULL, NULL, napi_default, NULL},
      {"ecdsaVerify", NULL, ecdsa_verify, NULL, NULL, NULL, napi_default, NULL},
      {"publicKeyCreate", NULL, pubkey_create, NULL, NULL, NULL, napi_default, NULL},
      {"publicKeyTweakAdd", NULL, pubkey_tweak_add, NULL, NULL, NULL, napi_default, NULL},
      {"publicKeyTweakMul", NULL, pubkey_tweak_mul, NULL, NULL, NULL, napi_default, NULL},
      {"publicKeyAdd", NULL, pubkey_add, NULL, NULL, NULL, napi_default, NULL},
      {"ecdh", NULL, ecdh, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
