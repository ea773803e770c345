#include "server/domain/page_token.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "server/common/errors.h"
#include "thesis/internal/page_cursor.pb.h"

namespace thesis::domain {
namespace {

constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

std::string Fingerprint(absl::string_view query_text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(query_text.data()), query_text.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), 16);
}

absl::Status BadToken() {
  return InvalidFieldError("page_token",
                           "is not a token from a previous response to this same query",
                           "INVALID_PAGE_TOKEN");
}

}  // namespace

PageTokenCodec::PageTokenCodec(absl::string_view secret) {
  if (secret.empty()) {
    RAND_bytes(key_, sizeof(key_));
  } else {
    SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), key_);
  }
}

std::string PageTokenCodec::Encode(absl::string_view query_text,
                                   const SortPosition& position) const {
  thesis::internal::PageCursor cursor;
  cursor.set_query_fingerprint(Fingerprint(query_text));
  if (const int64_t* k = std::get_if<int64_t>(&position.key)) {
    cursor.set_int_key(*k);
  } else {
    cursor.set_string_key(std::get<std::string>(position.key));
  }
  cursor.set_last_id(position.id);
  const std::string plain = cursor.SerializeAsString();

  std::string out(kNonceBytes + plain.size() + kTagBytes, '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  RAND_bytes(bytes, kNonceBytes);
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_, bytes);
  EVP_EncryptUpdate(ctx.get(), bytes + kNonceBytes, &len,
                    reinterpret_cast<const unsigned char*>(plain.data()),
                    static_cast<int>(plain.size()));
  EVP_EncryptFinal_ex(ctx.get(), bytes + kNonceBytes + len, &len);
  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                      bytes + kNonceBytes + plain.size());
  return absl::WebSafeBase64Escape(out);
}

absl::StatusOr<SortPosition> PageTokenCodec::Decode(absl::string_view query_text,
                                                    absl::string_view token) const {
  std::string raw;
  if (token.size() > 4096 || !absl::WebSafeBase64Unescape(token, &raw) ||
      raw.size() < kNonceBytes + kTagBytes) {
    return BadToken();
  }
  auto* bytes = reinterpret_cast<unsigned char*>(raw.data());
  const size_t cipher_len = raw.size() - kNonceBytes - kTagBytes;
  std::string plain(cipher_len, '\0');
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  bool ok = EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_, bytes) == 1 &&
            EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &len,
                              bytes + kNonceBytes, static_cast<int>(cipher_len)) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes,
                                bytes + kNonceBytes + cipher_len) == 1 &&
            EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()) + len,
                                &len) == 1;
  thesis::internal::PageCursor cursor;
  if (!ok || !cursor.ParseFromString(plain)) return BadToken();
  if (cursor.query_fingerprint() != Fingerprint(query_text)) {
    return InvalidFieldError("page_token",
                             "belongs to a query with another filter or order_by; start again "
                             "without a page_token",
                             "INVALID_PAGE_TOKEN");
  }
  SortPosition position;
  if (cursor.last_key_case() == thesis::internal::PageCursor::kIntKey) {
    position.key = cursor.int_key();
  } else {
    position.key = cursor.string_key();
  }
  position.id = cursor.last_id();
  return position;
}

}  // namespace thesis::domain
