// Opaque page tokens: the keyset position of the last row of a page,
// encrypted and authenticated with AES-256-GCM under a server secret, so a
// client can neither read nor forge one. Every replica that shares the
// secret accepts the tokens of the others.
#ifndef THESIS_SERVER_DOMAIN_PAGE_TOKEN_H_
#define THESIS_SERVER_DOMAIN_PAGE_TOKEN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/domain/list_query.h"

namespace thesis::domain {

class PageTokenCodec {
 public:
  // `secret` may be any string; a random one is used when it is empty
  // (tokens then only work on this process).
  explicit PageTokenCodec(absl::string_view secret);

  // `query_text` identifies the query (filter and order_by): a token is only
  // accepted for the same query text.
  std::string Encode(absl::string_view query_text, const SortPosition& position) const;
  // INVALID_ARGUMENT naming page_token when the token is not one of ours, or
  // belongs to another query.
  absl::StatusOr<SortPosition> Decode(absl::string_view query_text, absl::string_view token) const;

 private:
  unsigned char key_[32];
};

}  // namespace thesis::domain

#endif  // THESIS_SERVER_DOMAIN_PAGE_TOKEN_H_
