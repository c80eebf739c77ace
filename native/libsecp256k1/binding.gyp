{
  "targets": [
    {
      "target_name": "secp256k1_system",
      "sources": ["secp256k1_system.c"],
      "libraries": ["-lsecp256k1"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
