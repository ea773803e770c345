// Server-assigned thesis ids.
#ifndef THESIS_SERVER_API_IDS_H_
#define THESIS_SERVER_API_IDS_H_

#include <openssl/rand.h>

#include <string>

#include "absl/strings/escaping.h"

namespace thesis::api {

// 24 lowercase hex digits from a CSPRNG: fits the id syntax, never guessable.
inline std::string NewThesisId() {
  unsigned char bytes[12];
  RAND_bytes(bytes, sizeof(bytes));
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

}  // namespace thesis::api

#endif  // THESIS_SERVER_API_IDS_H_
