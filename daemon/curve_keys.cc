#include "daemon/curve_keys.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace bw {
namespace {

// The single key line of a key file, or an error naming the file.
Result<std::string> ReadKeyLine(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Status::NotFound("no such key file: " + path);
  std::ifstream in(path);
  if (!in) return Status::IoError("cannot read key file " + path + ": " + std::strerror(errno));
  std::string line;
  std::string key;
  while (std::getline(in, line)) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    const auto last = line.find_last_not_of(" \t\r");
    if (!key.empty()) {
      return Status::BadInput(path, "a key file holds exactly one key line");
    }
    key = line.substr(first, last - first + 1);
  }
  if (key.empty()) return Status::BadInput(path, "no key in the file");
  if (!IsZ85Key(key)) {
    return Status::BadInput(path, "the key is not 40 Z85 characters (a CURVE key)");
  }
  return key;
}

Status WriteFileWithMode(const std::string& path, const std::string& text, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    return Status::IoError("cannot create " + path + ": " + std::strerror(errno) +
                           (errno == EEXIST ? " (refusing to overwrite a key)" : ""));
  }
  ::fchmod(fd, mode);  // the umask may have narrowed it
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      return Status::IoError("cannot write " + path + ": " + std::strerror(err));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    return Status::IoError("cannot write " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace

bool IsZ85Key(std::string_view text) {
  if (text.size() != 40) return false;
  std::string copy(text);
  uint8_t out[32];
  return zmq_z85_decode(out, copy.c_str()) != nullptr;
}

Result<CurveKeyPair> GenerateCurveKeyPair() {
  if (!zmq_has("curve")) return Status::Unavailable("this libzmq was built without CURVE");
  char pub[41], sec[41];
  if (zmq_curve_keypair(pub, sec) != 0) {
    return Status::Internal(std::string("zmq_curve_keypair: ") + zmq_strerror(zmq_errno()));
  }
  return CurveKeyPair{pub, sec};
}

Result<std::string> CurvePublicFromSecret(const std::string& secret_z85) {
  if (!IsZ85Key(secret_z85)) return Status::BadInput("", "not a Z85 CURVE key");
  char pub[41];
  if (zmq_curve_public(pub, secret_z85.c_str()) != 0) {
    return Status::Internal(std::string("zmq_curve_public: ") + zmq_strerror(zmq_errno()));
  }
  return std::string(pub);
}

Result<CurveKeyPair> ReadSecretKeyFile(const std::string& path, bool require_owner_only) {
  if (require_owner_only) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return Status::NotFound("no such key file: " + path);
      return Status::IoError("cannot stat key file " + path + ": " + std::strerror(errno));
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
      std::ostringstream mode;
      mode << std::oct << (st.st_mode & 0777);
      return Status::BadInput(path, "the secret key file is accessible to group or others (mode 0" +
                                        mode.str() +
                                        "); it must be readable only by the service: chmod 0600 "
                                        "or 0400, or deliver it with systemd LoadCredential=");
    }
  }
  auto secret = ReadKeyLine(path);
  if (!secret.ok()) return secret.status();
  auto pub = CurvePublicFromSecret(*secret);
  if (!pub.ok()) return Status::BadInput(path, pub.status().message());
  return CurveKeyPair{*pub, *secret};
}

Result<std::string> ReadPublicKeyFile(const std::string& path) {
  auto key = ReadKeyLine(path);
  if (!key.ok()) return key.status();
  if (path.ends_with(".key")) {
    return Status::BadInput(path,
                            "this looks like a secret key file; give the public key (NAME.pub)");
  }
  return key;
}

Status WriteKeyPairFiles(const std::string& dir, const std::string& name,
                         const CurveKeyPair& keys) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError("cannot create directory " + dir + ": " + ec.message());
  const std::string base = (std::filesystem::path(dir) / name).string();
  Status s = WriteFileWithMode(base + ".key",
                               "# breachwatch CURVE secret key of " + name +
                                   ". Keep it private: never copy it to another host.\n" +
                                   keys.secret_z85 + "\n",
                               0600);
  if (!s.ok()) return s;
  return WriteFileWithMode(base + ".pub",
                           "# breachwatch CURVE public key of " + name + "\n" + keys.public_z85 +
                               "\n",
                           0644);
}

}  // namespace bw
