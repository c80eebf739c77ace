{
  "targets": [
    {
      "target_name": "chacha20poly1305_system",
      "sources": ["chacha20poly1305_system.c"],
      "libraries": ["-lsodium"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
