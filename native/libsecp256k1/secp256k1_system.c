// N-API binding to the system's libsecp256k1 (Debian's libsecp256k1-dev), for the ECDSA signatures and
// verifications of commitment_signed: libsecp256k1 0.2 signs and verifies ~1.5x faster on this
// machine than the 2019 copy inside the `secp256k1` npm package (safegcd inversions). Optional: when
// this is not built, src/crypto/secp256k1.ts uses the package for everything. Every input is checked
// here (type and length); a bad one throws a TypeError, never crashes the process.
#include <node_api.h>
#include <secp256k1.h>
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
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "ecdsaSign(msg32, seckey)");
    return NULL;
  }
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
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "ecdsaVerify(sig64, msg32, pubkey)");
    return NULL;
  }
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
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
