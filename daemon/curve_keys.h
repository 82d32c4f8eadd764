// CurveKeys: CURVE key pairs and the key files breachwatch reads and writes.
//
// Keys are 32-byte Curve25519 keys written as 40-character Z85 text (ZeroMQ RFC 32).  A key file
// holds one key on its own line; blank lines and lines starting with '#' are ignored:
//   NAME.key  the secret key (mode 0600; the public key is derived from it with zmq_curve_public)
//   NAME.pub  the public key (may be world-readable; goes into clients.toml or to the clients)
// `breachctl keys generate` writes both.  The daemon's secret key file must not be readable or
// writable by group or others: ReadSecretKeyFile refuses it otherwise when asked to.
//
// Errors are values (kBadInput naming the file, kNotFound, kIoError).  Thread-safety: pure
// functions apart from file I/O; callable from any thread.
#pragma once

#include <string>
#include <string_view>

#include "handlers/base/status.h"

namespace bw {

struct CurveKeyPair {
  std::string public_z85;  // 40 characters
  std::string secret_z85;  // 40 characters; empty when only the public key is known
};

// True when `text` is 40 Z85 characters that decode to a 32-byte key.
bool IsZ85Key(std::string_view text);

// A fresh key pair (zmq_curve_keypair).  Unavailable when libzmq lacks CURVE.
Result<CurveKeyPair> GenerateCurveKeyPair();

// The public key of a Z85 secret key (zmq_curve_public).
Result<std::string> CurvePublicFromSecret(const std::string& secret_z85);

// Reads a secret key file and derives its public key.  With `require_owner_only`, a file that
// group or others may read or write is refused (the server key must be readable only by the
// service).
Result<CurveKeyPair> ReadSecretKeyFile(const std::string& path, bool require_owner_only);

// Reads a public key file (NAME.pub).  A secret key file is refused: it must not be handed out.
Result<std::string> ReadPublicKeyFile(const std::string& path);

// Writes DIR/NAME.key (0600) and DIR/NAME.pub (0644).  Refuses to overwrite existing files.
Status WriteKeyPairFiles(const std::string& dir, const std::string& name,
                         const CurveKeyPair& keys);

}  // namespace bw
