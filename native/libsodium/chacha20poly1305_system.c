// N-API binding to libsodium's ChaCha20-Poly1305 (the IETF construction of RFC 8439 that BOLT 8 uses),
// for the transport's small frames: node:crypto pays ~5 us of set-up per call (a cipher object per
// nonce), most of the cost of sealing a 2-byte length or a 90-byte update_fulfill_htlc. Optional: when
// this is not built, src/bolt08-transport/chachapoly.ts uses node:crypto. Every input is checked here
// (type, length, bounds); a bad one throws a TypeError or RangeError, never crashes the process.
#include <node_api.h>
#include <sodium.h>
#include <string.h>

#define KEY_BYTES crypto_aead_chacha20poly1305_ietf_KEYBYTES
#define NONCE_BYTES crypto_aead_chacha20poly1305_ietf_NPUBBYTES
#define TAG_BYTES crypto_aead_chacha20poly1305_ietf_ABYTES

// A Uint8Array argument's bytes and length; with `fixed` > 0 the length must be exactly that.
static int bytes_arg(napi_env env, napi_value v, size_t fixed, unsigned char **data, size_t *len,
                     const char *what) {
  bool is_typed = false;
  napi_is_typedarray(env, v, &is_typed);
  if (is_typed) {
    napi_typedarray_type type;
    void *p;
    napi_get_typedarray_info(env, v, &type, len, &p, NULL, NULL);
    if (type == napi_uint8_array && (fixed == 0 || *len == fixed)) {
      *data = (unsigned char *)p;
      return 1;
    }
  }
  napi_throw_type_error(env, NULL, what);
  return 0;
}

// Associated data: a Uint8Array, or null/undefined for none.
static int ad_arg(napi_env env, napi_value v, unsigned char **data, size_t *len) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_null || t == napi_undefined) {
    *data = NULL;
    *len = 0;
    return 1;
  }
  return bytes_arg(env, v, 0, data, len, "associated data must be a Uint8Array or null");
}

// seal(key32, nonce12, ad, plaintext, out, offset): writes ciphertext || tag (plaintext.length + 16
// bytes) into out at offset.
static napi_value seal(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 6) {
    napi_throw_type_error(env, NULL, "seal(key, nonce, ad, plaintext, out, offset)");
    return NULL;
  }
  unsigned char *key, *nonce, *ad, *pt, *out;
  size_t key_len, nonce_len, ad_len, pt_len, out_len;
  if (!bytes_arg(env, argv[0], KEY_BYTES, &key, &key_len, "key must be 32 bytes") ||
      !bytes_arg(env, argv[1], NONCE_BYTES, &nonce, &nonce_len, "nonce must be 12 bytes") ||
      !ad_arg(env, argv[2], &ad, &ad_len) ||
      !bytes_arg(env, argv[3], 0, &pt, &pt_len, "plaintext must be a Uint8Array") ||
      !bytes_arg(env, argv[4], 0, &out, &out_len, "out must be a Uint8Array"))
    return NULL;
  double offset_d = -1;
  if (napi_get_value_double(env, argv[5], &offset_d) != napi_ok || offset_d < 0 ||
      offset_d != (double)(size_t)offset_d || (size_t)offset_d > out_len ||
      out_len - (size_t)offset_d < pt_len + TAG_BYTES) {
    napi_throw_range_error(env, NULL, "out has no room for the sealed bytes at offset");
    return NULL;
  }
  unsigned char *c = out + (size_t)offset_d;
  // libsodium reads the plaintext before writing each block, so out may be the plaintext's own memory
  // only at the same position; memmove keeps any other overlap correct.
  if (pt != c && pt_len > 0 && pt < c + pt_len && c < pt + pt_len) {
    memmove(c, pt, pt_len);
    pt = c;
  }
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(c, c + pt_len, NULL, pt, pt_len, ad, ad_len, NULL, nonce,
                                                     key);
  return NULL;
}

// open(key32, nonce12, ad, sealed) -> the plaintext (fresh memory), or null when the tag does not verify.
static napi_value open_(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4) {
    napi_throw_type_error(env, NULL, "open(key, nonce, ad, sealed)");
    return NULL;
  }
  unsigned char *key, *nonce, *ad, *sealed;
  size_t key_len, nonce_len, ad_len, sealed_len;
  if (!bytes_arg(env, argv[0], KEY_BYTES, &key, &key_len, "key must be 32 bytes") ||
      !bytes_arg(env, argv[1], NONCE_BYTES, &nonce, &nonce_len, "nonce must be 12 bytes") ||
      !ad_arg(env, argv[2], &ad, &ad_len) ||
      !bytes_arg(env, argv[3], 0, &sealed, &sealed_len, "sealed must be a Uint8Array"))
    return NULL;
  napi_value result;
  if (sealed_len < TAG_BYTES) {
    napi_get_null(env, &result);
    return result;
  }
  size_t n = sealed_len - TAG_BYTES;
  void *plain;
  napi_value ab;
  if (napi_create_arraybuffer(env, n, &plain, &ab) != napi_ok) return NULL;
  if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(n > 0 ? plain : NULL, NULL, sealed, n, sealed + n,
                                                         ad, ad_len, nonce, key) != 0) {
    if (n > 0) sodium_memzero(plain, n);
    napi_get_null(env, &result);
    return result;
  }
  napi_create_typedarray(env, napi_uint8_array, n, ab, 0, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  if (sodium_init() < 0) {
    napi_throw_error(env, NULL, "sodium_init failed");
    return NULL;
  }
  napi_property_descriptor props[] = {
      {"seal", NULL, seal, NULL, NULL, NULL, napi_default, NULL},
      {"open", NULL, open_, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
