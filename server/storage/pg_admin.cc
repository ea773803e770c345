#include "server/storage/pg_admin.h"

#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace thesis::storage {

absl::StatusOr<std::string> RecreateDatabase(const std::string& admin_url, absl::string_view name) {
  if (!absl::StrContains(name, "test") && !absl::StrContains(name, "bench")) {
    return absl::InvalidArgumentError(
        absl::StrCat("refusing to recreate database ", name, ": not a test database name"));
  }
  try {
    pqxx::connection conn(admin_url);
    pqxx::nontransaction n(conn);
    n.exec(
        absl::StrCat("DROP DATABASE IF EXISTS ", n.quote_name(std::string(name)), " WITH (FORCE)"));
    n.exec(absl::StrCat("CREATE DATABASE ", n.quote_name(std::string(name))));
    // postgresql://user@host:port/db?params -> same with the new db.
    std::string url = admin_url;
    size_t scheme = url.find("://");
    size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    size_t query = url.find('?');
    std::string params = query == std::string::npos ? "" : url.substr(query);
    if (slash == std::string::npos) {
      return absl::InvalidArgumentError("the admin URL must have the form postgresql://host/db");
    }
    return absl::StrCat(url.substr(0, slash + 1), name, params);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot recreate database ", name, ": ", e.what()));
  }
}

absl::StatusOr<std::string> ExecSql(const std::string& url, const std::string& sql) {
  try {
    pqxx::connection conn(url);
    pqxx::nontransaction n(conn);
    pqxx::result r = n.exec(sql);
    if (r.empty() || r.columns() == 0 || r[0][0].is_null()) return std::string();
    return r[0][0].as<std::string>();
  } catch (const std::exception& e) {
    return absl::UnknownError(e.what());
  }
}

}  // namespace thesis::storage
