#include "server/api/class_service.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "server/api/db_call.h"
#include "server/api/grpc_status.h"
#include "server/api/response_budget.h"
#include "server/common/errors.h"
#include "server/domain/class_tree.h"
#include "server/domain/thesis_validation.h"

namespace thesis::api {
namespace {

namespace v1 = thesis::v1;
using domain::classes::SchemeTree;
using google::protobuf::util::TimeUtil;

constexpr char kSchemes[] = "schemes/";
constexpr char kClasses[] = "/classes/";
constexpr int kDefaultChildren = 100;
constexpr int kMaxChildren = 1000;
constexpr int kMaxTreeDepth = 5;
constexpr int kDefaultTreeNodes = 2000;
constexpr int kMaxTreeNodes = 20000;
constexpr int kMaxResolve = 1000;
constexpr int kDefaultClassTheses = 50;
constexpr int kMaxClassTheses = 1000;
constexpr int kDefaultTopK = 5;
constexpr int kMaxTopK = 50;
constexpr int kDefaultLevel = 2;
constexpr int kMaxLevel = 10;
constexpr size_t kMaxImportRows = 500000;
constexpr int kMaxReportedProblems = 10000;
constexpr size_t kMaxTextBytes = 1 << 20;

std::string SchemeName(absl::string_view scheme) { return absl::StrCat(kSchemes, scheme); }
std::string ClassName(absl::string_view scheme, absl::string_view code) {
  return absl::StrCat(kSchemes, scheme, kClasses, code);
}

absl::Status SchemeNotFound(absl::string_view scheme) {
  return WithReason(absl::NotFoundError(absl::StrCat("scheme ", SchemeName(scheme),
                                                     " does not exist (schemes/clc, "
                                                     "schemes/discipline)")),
                    "SCHEME_NOT_FOUND");
}

absl::Status ClassNotFound(absl::string_view scheme, absl::string_view code) {
  return WithReason(
      absl::NotFoundError(absl::StrCat("class ", ClassName(scheme, code), " does not exist")),
      "CLASS_NOT_FOUND");
}

// `schemes/{scheme}`.
absl::StatusOr<std::string> ParseSchemeName(absl::string_view name, absl::string_view field) {
  absl::string_view rest = name;
  if (!absl::ConsumePrefix(&rest, kSchemes) || rest.empty() ||
      rest.find('/') != absl::string_view::npos) {
    return InvalidFieldError(field, "must be schemes/{scheme}, for example schemes/clc");
  }
  if (!domain::classes::IsScheme(rest)) return SchemeNotFound(rest);
  return std::string(rest);
}

struct ParsedClassName {
  std::string scheme;
  std::string code;  // empty: the scheme itself
};

// `schemes/{scheme}/classes/{code}`, or `schemes/{scheme}` when
// `scheme_allowed`. The code is everything after `/classes/`.
absl::StatusOr<ParsedClassName> ParseClassName(absl::string_view name, absl::string_view field,
                                               bool scheme_allowed) {
  absl::string_view rest = name;
  const char* expected = scheme_allowed
                             ? "must be schemes/{scheme} or schemes/{scheme}/classes/{code}"
                             : "must be schemes/{scheme}/classes/{code}, for example "
                               "schemes/clc/classes/D630";
  if (!absl::ConsumePrefix(&rest, kSchemes)) return InvalidFieldError(field, expected);
  const size_t slash = rest.find('/');
  ParsedClassName out;
  out.scheme = std::string(rest.substr(0, slash));
  if (slash == absl::string_view::npos) {
    if (!scheme_allowed || out.scheme.empty()) return InvalidFieldError(field, expected);
  } else {
    absl::string_view code = rest.substr(slash);
    if (!absl::ConsumePrefix(&code, kClasses) || code.empty()) {
      return InvalidFieldError(field, expected);
    }
    out.code = std::string(code);
  }
  if (!domain::classes::IsScheme(out.scheme)) return SchemeNotFound(out.scheme);
  return out;
}

const storage::ClassCounts& CountsOf(const storage::ClassSnapshot& s, const std::string& code) {
  static const storage::ClassCounts kZero;
  auto it = s.counts.find(code);
  return it == s.counts.end() ? kZero : it->second;
}

void ToProto(const storage::ClassCounts& c, v1::ClassCounts* out) {
  out->set_direct_theses(c.direct_theses);
  out->set_subtree_theses(c.subtree_theses);
  out->set_subtree_downloads(c.subtree_downloads);
  out->set_subtree_legacy_downloads(c.subtree_legacy);
}

void ToRef(const SchemeTree& tree, int index, v1::ClassRef* out) {
  const SchemeTree::Node& node = tree.nodes()[index];
  out->set_name(ClassName(tree.scheme(), node.code));
  out->set_code(node.code);
  out->set_display_name(node.name);
}

void ToProto(const storage::ClassSnapshot& s, int index, bool with_path, v1::Class* out) {
  const SchemeTree& tree = *s.tree;
  const SchemeTree::Node& node = tree.nodes()[index];
  out->set_name(ClassName(tree.scheme(), node.code));
  out->set_code(node.code);
  out->set_display_name(node.name);
  out->set_level(node.level);
  if (node.parent_index >= 0) {
    out->set_parent(ClassName(tree.scheme(), tree.nodes()[node.parent_index].code));
  }
  if (with_path) {
    for (int p : tree.PathTo(index)) ToRef(tree, p, out->add_path());
  }
  out->set_child_count(static_cast<int>(node.children.size()));
  out->set_alternative(node.alternative);
  out->set_discontinued(node.discontinued);
  ToProto(CountsOf(s, node.code), out->mutable_counts());
}

void ToProto(const storage::ClassSnapshot& s, v1::Scheme* out) {
  const std::string& scheme = s.tree->scheme();
  out->set_name(SchemeName(scheme));
  out->set_title(s.info.title);
  out->set_version(s.info.version);
  out->set_class_count(static_cast<int64_t>(s.tree->size()));
  out->set_classified_theses(CountsOf(s, domain::classes::kClassified).subtree_theses);
  out->set_unresolved_theses(CountsOf(s, domain::classes::kUnresolved).subtree_theses);
  out->set_unclassified_theses(CountsOf(s, domain::classes::kNone).subtree_theses);
  *out->mutable_update_time() =
      TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(s.info.update_time));
}

absl::StatusOr<int> Bounded(int value, int default_value, int max, absl::string_view field) {
  if (value < 0 || value > max) {
    return InvalidFieldError(field, absl::StrCat("must be between 0 and ", max));
  }
  return value == 0 ? default_value : value;
}

// The codes of a subtree walk: the start (or the roots), then level by
// level down to `depth` below it, at most `limit` nodes.
std::vector<int> TreeWalk(const SchemeTree& tree, int start, int depth, size_t limit) {
  std::vector<int> order;
  std::vector<int> level = start >= 0 ? std::vector<int>{start} : tree.roots();
  for (int d = 0; d <= depth && !level.empty() && order.size() < limit; ++d) {
    std::vector<int> next;
    for (int i : level) {
      if (order.size() >= limit) break;
      order.push_back(i);
      const auto& children = tree.nodes()[i].children;
      next.insert(next.end(), children.begin(), children.end());
    }
    level = std::move(next);
  }
  return order;
}

v1::Resolution ToProto(domain::clc::ClcResolution::Status s) {
  switch (s) {
    case domain::clc::ClcResolution::Status::kExact:
      return v1::EXACT;
    case domain::clc::ClcResolution::Status::kAncestor:
      return v1::ANCESTOR;
    case domain::clc::ClcResolution::Status::kUnresolved:
      return v1::UNRESOLVED;
  }
  return v1::RESOLUTION_UNSPECIFIED;
}

absl::Status ParseClassOrder(absl::string_view order_by, storage::ClassThesesQuery* q) {
  std::vector<absl::string_view> parts = absl::StrSplit(order_by, ' ', absl::SkipWhitespace());
  if (parts.empty()) {
    q->order = storage::ClassOrder::kDownloads;
    q->descending = true;
    return absl::OkStatus();
  }
  if (parts.size() > 2) {
    return InvalidFieldError("order_by", "must be one field, optionally followed by asc or desc");
  }
  if (parts[0] == "downloads") {
    q->order = storage::ClassOrder::kDownloads;
    q->descending = true;
  } else if (parts[0] == "degree_year") {
    q->order = storage::ClassOrder::kDegreeYear;
    q->descending = false;
  } else if (parts[0] == "title") {
    q->order = storage::ClassOrder::kTitle;
    q->descending = false;
  } else {
    return InvalidFieldError("order_by", "must be downloads, degree_year or title");
  }
  if (parts.size() == 2) {
    if (parts[1] == "desc") {
      q->descending = true;
    } else if (parts[1] == "asc") {
      q->descending = false;
    } else {
      return InvalidFieldError("order_by", "the direction must be asc or desc");
    }
  }
  return absl::OkStatus();
}

storage::CodesOf NoCodes() {
  return [](const SchemeTree&) { return std::vector<std::string>{}; };
}

// ---- ImportClasses -----------------------------------------------------------

class ImportClassesReactor : public grpc::ServerReadReactor<v1::ImportClassesRequest> {
 public:
  ImportClassesReactor(grpc::CallbackServerContext* context, WorkerPool& pool,
                       v1::ImportClassesResponse* response)
      : context_(context), pool_(pool), deadline_(DeadlineOf(context)), response_(response) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Submit();
      return;
    }
    if (absl::Status added = Add(); !added.ok()) {
      Finish(ToGrpcStatus(added));
      return;
    }
    request_.Clear();
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  absl::Status Add() {
    if (!request_.scheme().empty()) {
      absl::StatusOr<std::string> scheme = ParseSchemeName(request_.scheme(), "scheme");
      if (!scheme.ok()) return scheme.status();
      if (!scheme_.empty() && *scheme != scheme_) {
        return InvalidFieldError("scheme", "must not change within one import");
      }
      scheme_ = *scheme;
    }
    if (!request_.version().empty()) {
      if (request_.version().size() > 64 || !domain::IsValidText(request_.version())) {
        return InvalidFieldError("version", "must be at most 64 characters of UTF-8");
      }
      version_ = request_.version();
    }
    if (rows_.size() + request_.rows_size() > kMaxImportRows) {
      return InvalidFieldError("rows",
                               absl::StrCat("at most ", kMaxImportRows, " rows in one import"));
    }
    for (v1::ClassRow& row : *request_.mutable_rows()) {
      domain::classes::ImportRow in;
      in.row.code = std::move(*row.mutable_code());
      in.row.parent = std::move(*row.mutable_parent());
      in.row.name = std::move(*row.mutable_display_name());
      in.origin = std::move(*row.mutable_origin());
      if (!domain::IsValidText(in.row.name) || !domain::IsValidText(in.row.code) ||
          !domain::IsValidText(in.row.parent) || in.row.name.size() > 4096 ||
          in.row.code.size() > 256) {
        // Kept so that MergeTable reports it with its index: an empty code
        // fails there.
        in.row.code.clear();
      }
      rows_.push_back(std::move(in));
    }
    return absl::OkStatus();
  }

  void Submit() {
    // A client that went away mid-stream also ends the reads: do not load
    // the part of the table that arrived.
    if (context_->IsCancelled()) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the import was cancelled"));
      return;
    }
    if (scheme_.empty()) {
      Finish(ToGrpcStatus(InvalidFieldError("scheme", "is required in the first message")));
      return;
    }
    if (version_.empty()) {
      Finish(ToGrpcStatus(InvalidFieldError("version", "is required in the first message")));
      return;
    }
    const bool queued = pool_.TrySubmit([this](storage::Session& session) {
      storage::CallContext call;
      call.deadline = deadline_;
      absl::StatusOr<storage::ClassImportResult> result =
          absl::Now() >= deadline_
              ? absl::DeadlineExceededError("the deadline expired before the import ran")
              : session.classes().Import(call, scheme_, version_, rows_);
      if (!result.ok()) {
        Finish(ToGrpcStatus(result.status()));
        return;
      }
      response_->set_created(result->merge.created);
      response_->set_updated(result->merge.updated);
      response_->set_unchanged(result->merge.unchanged);
      response_->set_failed(result->merge.failed);
      for (const domain::classes::ImportProblem& p : result->merge.problems) {
        if (response_->problems_size() >= kMaxReportedProblems) break;
        v1::ClassImportProblem* out = response_->add_problems();
        out->set_index(static_cast<int64_t>(p.index));
        out->set_origin(rows_[p.index].origin);
        out->set_code(p.code);
        out->set_reason(p.reason);
        out->set_loaded(p.loaded);
      }
      response_->set_class_count(result->class_count);
      response_->set_theses_placed(result->theses_placed);
      Finish(grpc::Status::OK);
    });
    if (!queued) Finish(ToGrpcStatus(OverloadedError()));
  }

  grpc::CallbackServerContext* context_;
  WorkerPool& pool_;
  const absl::Time deadline_;
  v1::ImportClassesResponse* response_;
  v1::ImportClassesRequest request_;
  std::string scheme_;
  std::string version_;
  std::vector<domain::classes::ImportRow> rows_;
};

}  // namespace

grpc::ServerUnaryReactor* ClassificationServiceImpl::ListSchemes(
    grpc::CallbackServerContext* context, const v1::ListSchemesRequest*,
    v1::ListSchemesResponse* response) {
  if (absl::Status denied = access_.Check(context, Role::kReader); !denied.ok()) {
    return FinishNow(context, denied);
  }
  return StartDbCall(context, pool_,
                     [response](storage::Session& session, const storage::CallContext& call) {
                       for (const std::string& scheme : domain::classes::Schemes()) {
                         absl::StatusOr<storage::ClassSnapshot> s =
                             session.classes().Snapshot(call, scheme, NoCodes());
                         if (!s.ok()) return s.status();
                         ToProto(*s, response->add_schemes());
                       }
                       return absl::OkStatus();
                     });
}

grpc::ServerUnaryReactor* ClassificationServiceImpl::GetScheme(grpc::CallbackServerContext* context,
                                                               const v1::GetSchemeRequest* request,
                                                               v1::Scheme* response) {
  if (absl::Status denied = access_.Check(context, Role::kReader); !denied.ok()) {
    return FinishNow(context, denied);
  }
  absl::StatusOr<std::string> scheme = ParseSchemeName(request->name(), "name");
  if (!scheme.ok()) return FinishNow(context, scheme.status());
  return StartDbCall(
      context, pool_,
      [scheme = *scheme, response](storage::Session& session, const storage::CallContext& call) {
        absl::StatusOr<storage::ClassSnapshot> s =
            session.classes().Snapshot(call, scheme, NoCodes());
        if (!s.ok()) return s.status();
        ToProto(*s, response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* ClassificationServiceImpl::GetClass(grpc::CallbackServerContext* context,
                                                              const v1::GetClassRequest* request,
                                                              v1::Class* response) {
  if (absl::Status denied = access_.Check(context, Role::kReader); !denied.ok()) {
    return FinishNow(context, denied);
  }
  absl::StatusOr<ParsedClassName> name = ParseClassName(request->name(), "name", false);
  if (!name.ok()) return FinishNow(context, name.status());
  return StartDbCall(
      context, pool_,
      [name = *name, response](storage::Session& session, const storage::CallContext& call) {
        absl::StatusOr<storage::ClassSnapshot> s =
            session.classes().Snapshot(call, name.scheme, [&](const SchemeTree& tree) {
              const int index = tree.Find(name.code);
              return index < 0 ? std::vector<std::string>{}
                               : std::vector<std::string>{tree.nodes()[index].code};
            });
        if (!s.ok()) return s.status();
        const int index = s->tree->Find(name.code);
        if (index < 0) return ClassNotFound(name.scheme, name.code);
        ToProto(*s, index, /*with_path=*/true, response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* ClassificationServiceImpl::ListChildren(
    grpc::CallbackServerContext* context, const v1::ListChildrenRequest* request,
    v1::ListChildrenResponse* response) {
  if (absl::Status denied = access_.Check(context, Role::kReader); !denied.ok()) {
    return FinishNow(context, denied);
  }
  absl::StatusOr<ParsedClassName> parent = ParseClassName(request->parent(), "parent", true);
  if (!parent.ok()) return FinishNow(context, parent.status());
  absl::StatusOr<int> page_size =
      Bounded(request->page_size(), kDefaultChildren, kMaxChildren, "page_size");
  if (!page_size.ok()) return FinishNow(context, page_size.status());
  const std::string query = absl::StrCat("children\n", request->parent());
  int64_t offset = 0;
  if (!request->page_token().empty()) {
    absl::StatusOr<domain::SortPosition> pos = page_tokens_.Decode(query, request->page_token());
    if (!pos.ok()) return FinishNow(context, pos.status());
    const int64_t* k = std::get_if<int64_t>(&pos->key);
    if (k == nullptr || *k < 0)
      return FinishNow(context, InvalidFieldError("page_token", "is not valid"));
    offset = *k;
  }
  const domain::PageTokenCodec& tokens = page_tokens_;
  return StartDbCall(context, pool_,
                     [parent = *parent, size = *page_size, offset, query, &tokens, response](
                         storage::Session& session, const storage::CallContext& call) {
                       // The children and the page of them of the table the
                       // snapshot returns (the last one this is called with).
                       std::vector<int> all, page;
                       absl::StatusOr<storage::ClassSnapshot> s = session.classes().Snapshot(
                           call, parent.scheme, [&](const SchemeTree& tree) {
                             const int index = parent.code.empty() ? -1 : tree.Find(parent.code);
                             all = parent.code.empty() ? tree.roots()
                                   : index < 0         ? std::vector<int>{}
                                                       : tree.nodes()[index].children;
                             const size_t first = std::min(all.size(), static_cast<size_t>(offset));
                             const size_t last =
                                 std::min(all.size(), first + static_cast<size_t>(size));
                             page.assign(all.begin() + first, all.begin() + last);
                             std::vector<std::string> codes;
                             for (int i : page) codes.push_back(tree.nodes()[i].code);
                             return codes;
                           });
                       if (!s.ok()) return s.status();
                       if (!parent.code.empty() && s->tree->Find(parent.code) < 0) {
                         return ClassNotFound(parent.scheme, parent.code);
                       }
                       for (int i : page) {
                         ToProto(*s, i, /*with_path=*/false, response->add_classes());
                       }
                       const int64_t next = offset + response->classes_size();
                       if (next < static_cast<int64_t>(all.size())) {
                         domain::SortPosition pos;
                         pos.key = next;
                         response->set_next_page_token(tokens.Encode(query, pos));
                       }
                       return absl::OkStatus();
                     });
}

grpc::ServerUnaryReactor* ClassificationServiceImpl::GetClassTree(
    grpc::CallbackServerContext* context, const v1::GetClassTreeRequest* request,
    v1::GetClassTreeResponse* response) {
  if (absl::Status denied = access_.Check(context, Role::kReader); !denied.ok()) {
    return FinishNow(context, denied);
  }
  absl::StatusOr<ParsedClassName> start = ParseClassName(request->name(), "name", true);
  if (!start.ok()) return FinishNow(context, start.status());
  absl::StatusOr<int> depth = Bounded(request->depth(), 1, kMaxTreeDepth, "depth");
  if (!depth.ok()) return FinishNow(context, depth.status());
  absl::StatusOr<int> max_nodes =
      Bounded(request->max_nodes(), kDefaultTreeNodes, kMaxTreeNodes, "max_nodes");
  if (!max_nodes.ok()) return FinishNow(context, max_nodes.status());
  const bool skip_empty = request->skip_empty();
  return StartDbCall(
      context, pool_,
      [start = *start, depth = *depth, max_nodes = *max_nodes, skip_empty, response](
          storage::Session& session, const storage::CallContext& call) {
        // The classes whose counts are read: of the table the snapshot
        // returns (the last one this is called with).
        std::vector<int> walk;
        absl::StatusOr<storage::ClassSnapshot> s =
            session.classes().Snapshot(call, start.scheme, [&](const SchemeTree& tree) {
              const int index = start.code.empty() ? -1 : tree.Find(start.code);
              walk.clear();
              // One more than fits, to tell whether anything was cut.
              if (start.code.empty() || index >= 0) {
                walk = TreeWalk(tree, index, depth, static_cast<size_t>(kMaxTreeNodes) + 1);
              }
              std::vector<std::string> codes;
              for (int i : walk) codes.push_back(tree.nodes()[i].code);
              return codes;
            });
        if (!s.ok()) return s.status();
        const SchemeTree& tree = *s->tree;
        const int start_index = start.code.empty() ? -1 : tree.Find(start.code);
        if (!start.code.empty() && start_index < 0) return ClassNotFound(start.scheme, start.code);
        // The counts read are those of the walk; a level with classes beyond
        // it is cut (it cannot be told which of them are empty).
        std::vector<bool> walked(tree.size(), false);
        for (int i : walk) walked[i] = true;
        auto keep = [&](int i) {
          return !skip_empty || CountsOf(*s, tree.nodes()[i].code).subtree_theses > 0;
        };
        // Level by level: a level goes in whole or not at all, so that the
        // deepest levels are the ones cut.
        std::vector<std::pair<int, v1::ClassTreeNode*>> level;
        const std::vector<int> tops =
            start_index >= 0 ? std::vector<int>{start_index} : tree.roots();
        int nodes = 0;
        for (int i : tops) {
          if (!keep(i)) continue;
          if (nodes >= max_nodes) {
            response->set_truncated(true);
            break;
          }
          v1::ClassTreeNode* node = response->add_roots();
          ToProto(*s, i, /*with_path=*/start_index >= 0, node->mutable_class_());
          level.push_back({i, node});
          ++nodes;
        }
        for (int d = 1; d <= depth && !level.empty(); ++d) {
          int wanted = 0;
          bool beyond_walk = false;
          for (const auto& [i, node] : level) {
            for (int c : tree.nodes()[i].children) {
              wanted += keep(c) ? 1 : 0;
              beyond_walk = beyond_walk || !walked[c];
            }
          }
          if (beyond_walk || nodes + wanted > max_nodes) {
            response->set_truncated(wanted > 0 || beyond_walk);
            break;
          }
          std::vector<std::pair<int, v1::ClassTreeNode*>> next;
          for (const auto& [i, node] : level) {
            for (int c : tree.nodes()[i].children) {
              if (!keep(c)) continue;
              v1::ClassTreeNode* child = node->add_children();
              ToProto(*s, c, /*with_path=*/false, child->mutable_class_());
              next.push_back({c, child});
            }
          }
          nodes += wanted;
          level = std::move(next);
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* ClassificationServiceImpl::ResolveCodes(
    grpc::CallbackServerContext* context, const v1::ResolveCodesRequest* request,
    v1::ResolveCodesResponse* response) {
  if (absl::Status denied = access_.Check(context, Role::kReader); !denied.ok()) {
    return FinishNow(context, denied);
  }
  absl::StatusOr<std::string> scheme = ParseSchemeName(request->scheme(), "scheme");
  if (!scheme.ok()) return FinishNow(context, scheme.status());
  if (*scheme != domain::classes::kClc) {
    return FinishNow(context,
                     InvalidFieldError("scheme", "only schemes/clc has a notation to resolve"));
  }
  if (request->codes_size() > kMaxResolve) {
    return FinishNow(context, InvalidFieldError("codes", absl::StrCat("at most ", kMaxResolve)));
  }
  std::vector<FieldViolation> violations;
  for (int i = 0; i < request->codes_size(); ++i) {
    if (!domain::IsValidText(request->codes(i)) || request->codes(i).size() > 1024) {
      violations.push_back(
          {absl::StrCat("codes[", i, "]"), "must be valid UTF-8 of at most 1024 bytes"});
    }
  }
  if (!violations.empty()) return FinishNow(context, InvalidArgumentError(violations));
  return StartDbCall(
      context, pool_,
      [request, response](storage::Session& session, const storage::CallContext& call) {
        absl::StatusOr<storage::ClassSnapshot> s =
            session.classes().Snapshot(call, domain::classes::kClc, NoCodes());
        if (!s.ok()) return s.status();
        const SchemeTree& tree = *s->tree;
        for (const std::string& raw : request->codes()) {
          v1::ResolvedField* field = response->add_fields();
          field->set_raw(raw);
          for (const auto& e : tree.clc()->ResolveField(raw).entries) {
            v1::ResolvedCode* out = field->add_codes();
            out->set_normalized(e.raw);
            if (!e.error.empty()) {
              out->set_resolution(v1::INVALID);
              out->add_problems(e.error);
              continue;
            }
            out->set_code(e.parsed.code);
            out->set_resolution(ToProto(e.resolution.status));
            out->set_range(e.parsed.kind == domain::clc::ClcCode::Kind::kRange);
            out->set_alternative(e.parsed.alternative);
            out->set_discontinued(e.parsed.discontinued);
            for (const std::string& p : e.parsed.problems) out->add_problems(p);
            for (size_t k = 0; k < e.resolution.chain.size(); ++k) {
              const int index = tree.Find(e.resolution.chain[k]);
              if (index < 0) continue;
              if (k == 0) ToRef(tree, index, out->mutable_resolved());
              ToRef(tree, index, out->add_ancestors());
            }
          }
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* ClassificationServiceImpl::ListThesesInClass(
    grpc::CallbackServerContext* context, const v1::ListThesesInClassRequest* request,
    v1::ListThesesInClassResponse* response) {
  if (absl::Status denied = access_.Check(context, Role::kReader); !denied.ok()) {
    return FinishNow(context, denied);
  }
  absl::StatusOr<ParsedClassName> name = ParseClassName(request->name(), "name", false);
  if (!name.ok()) return FinishNow(context, name.status());
  storage::ClassThesesQuery query;
  query.scheme = name->scheme;
  absl::StatusOr<int> size =
      Bounded(request->page_size(), kDefaultClassTheses, kMaxClassTheses, "page_size");
  if (!size.ok()) return FinishNow(context, size.status());
  query.limit = *size;
  if (absl::Status order = ParseClassOrder(request->order_by(), &query); !order.ok()) {
    return FinishNow(context, order);
  }
  const std::string query_text =
      absl::StrCat("class-theses\n", request->name(), "\n", request->order_by());
  if (!request->page_token().empty()) {
    absl::StatusOr<domain::SortPosition> pos =
        page_tokens_.Decode(query_text, request->page_token());
    if (!pos.ok()) return FinishNow(context, pos.status());
    query.after = std::move(*pos);
  }
  const domain::PageTokenCodec& tokens = page_tokens_;
  return StartDbCall(
      context, pool_,
      [name = *name, query = std::move(query), query_text, &tokens, response](
          storage::Session& session, const storage::CallContext& call) mutable {
        absl::StatusOr<storage::ClassSnapshot> s =
            session.classes().Snapshot(call, name.scheme, NoCodes());
        if (!s.ok()) return s.status();
        const int index = s->tree->Find(name.code);
        if (index < 0) return ClassNotFound(name.scheme, name.code);
        query.code = s->tree->nodes()[index].code;
        absl::StatusOr<storage::ClassThesesPage> page = session.classes().ListTheses(call, query);
        if (!page.ok()) return page.status();
        for (storage::ClassThesis& t : page->theses) {
          v1::ThesisInClass* out = response->add_theses();
          *out->mutable_thesis() = std::move(t.thesis);
          out->set_downloads(t.downloads);
        }
        // A page of long records ends early and continues after its last one.
        if (const v1::ThesisInClass* last = TrimToBudget(response->mutable_theses())) {
          page->next = storage::ClassThesisPosition(
              last->thesis(), last->downloads(),
              absl::StripPrefix(last->thesis().name(), domain::kThesisCollection), query.order);
        }
        if (page->next) response->set_next_page_token(tokens.Encode(query_text, *page->next));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* ClassificationServiceImpl::SuggestClasses(
    grpc::CallbackServerContext* context, const v1::SuggestClassesRequest* request,
    v1::SuggestClassesResponse* response) {
  if (absl::Status denied = access_.Check(context, Role::kReader); !denied.ok()) {
    return FinishNow(context, denied);
  }
  absl::StatusOr<std::string> scheme = ParseSchemeName(request->scheme(), "scheme");
  if (!scheme.ok()) return FinishNow(context, scheme.status());
  std::vector<FieldViolation> violations;
  absl::StatusOr<int> top_k = Bounded(request->top_k(), kDefaultTopK, kMaxTopK, "top_k");
  if (!top_k.ok()) return FinishNow(context, top_k.status());
  absl::StatusOr<int> level = Bounded(request->level(), kDefaultLevel, kMaxLevel, "level");
  if (!level.ok()) return FinishNow(context, level.status());
  size_t bytes = request->title().size() + request->abstract().size();
  for (const std::string& k : request->keywords()) bytes += k.size();
  if (bytes > kMaxTextBytes) {
    violations.push_back({"abstract", "title, abstract and keywords are at most 1 MiB together"});
  }
  if (request->title().empty() && request->abstract().empty() && request->keywords().empty()) {
    violations.push_back({"title", "a title, an abstract or keywords are required"});
  }
  if (!violations.empty()) return FinishNow(context, InvalidArgumentError(violations));
  SuggestionModels& models = models_;
  return StartDbCall(
      context, pool_,
      [scheme = *scheme, top_k = *top_k, level = *level, request, response, &models](
          storage::Session& session, const storage::CallContext& call) {
        absl::StatusOr<storage::ClassSnapshot> s =
            session.classes().Snapshot(call, scheme, NoCodes());
        if (!s.ok()) return s.status();
        absl::StatusOr<std::shared_ptr<const SuggestionModels::Model>> model =
            models.Get(session, call, *s, level, /*rebuild=*/false);
        if (!model.ok()) return model.status();
        if ((*model)->training_theses == 0) {
          return WithReason(absl::FailedPreconditionError(
                                absl::StrCat("no thesis is classified at level ", level, " of ",
                                             SchemeName(scheme), " yet: nothing to learn from")),
                            "NO_TRAINING_DATA");
        }
        domain::suggest::Document doc;
        doc.title = request->title();
        doc.abstract_text = request->abstract();
        doc.keywords.assign(request->keywords().begin(), request->keywords().end());
        const SchemeTree& tree = *(*model)->tree;
        for (const domain::suggest::Suggestion& sg : (*model)->suggester.Suggest(doc, top_k)) {
          const int index = tree.Find(sg.label);
          if (index < 0) continue;
          v1::ClassSuggestion* out = response->add_suggestions();
          ToRef(tree, index, out->mutable_class_());
          out->set_score(sg.score);
        }
        response->set_training_theses((*model)->training_theses);
        *response->mutable_model_time() =
            TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros((*model)->built));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* ClassificationServiceImpl::RebuildSuggestionModel(
    grpc::CallbackServerContext* context, const v1::RebuildSuggestionModelRequest* request,
    v1::RebuildSuggestionModelResponse* response) {
  if (absl::Status denied = access_.Check(context, Role::kWriter); !denied.ok()) {
    return FinishNow(context, denied);
  }
  absl::StatusOr<std::string> scheme = ParseSchemeName(request->scheme(), "scheme");
  if (!scheme.ok()) return FinishNow(context, scheme.status());
  absl::StatusOr<int> level = Bounded(request->level(), kDefaultLevel, kMaxLevel, "level");
  if (!level.ok()) return FinishNow(context, level.status());
  SuggestionModels& models = models_;
  return StartDbCall(context, pool_,
                     [scheme = *scheme, level = *level, response, &models](
                         storage::Session& session, const storage::CallContext& call) {
                       absl::StatusOr<storage::ClassSnapshot> s =
                           session.classes().Snapshot(call, scheme, NoCodes());
                       if (!s.ok()) return s.status();
                       absl::StatusOr<std::shared_ptr<const SuggestionModels::Model>> model =
                           models.Get(session, call, *s, level, /*rebuild=*/true);
                       if (!model.ok()) return model.status();
                       response->set_training_theses((*model)->training_theses);
                       response->set_labels(static_cast<int>((*model)->suggester.labels()));
                       *response->mutable_model_time() =
                           TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros((*model)->built));
                       return absl::OkStatus();
                     });
}

grpc::ServerReadReactor<v1::ImportClassesRequest>* ClassificationServiceImpl::ImportClasses(
    grpc::CallbackServerContext* context, v1::ImportClassesResponse* response) {
  if (absl::Status denied = access_.Check(context, Role::kAdmin); !denied.ok()) {
    return new RefusedReader<v1::ImportClassesRequest>(ToGrpcStatus(denied));
  }
  return new ImportClassesReactor(context, pool_, response);
}

}  // namespace thesis::api
