#include "server/api/suggestion_models.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace thesis::api {
namespace {

constexpr int64_t kMaxWeights = 10'000'000;

bool Stale(const SuggestionModels::Model& model, const storage::ClassSnapshot& now) {
  if (model.tree->generation() != now.tree->generation() ||
      model.tree->scheme() != now.tree->scheme()) {
    return true;
  }
  auto it = now.counts.find(domain::classes::kClassified);
  const int64_t classified = it == now.counts.end() ? 0 : it->second.subtree_theses;
  const int64_t change = std::llabs(classified - model.classified_at_build);
  return change >= SuggestionModels::kMinChange && change * 10 > model.classified_at_build;
}

}  // namespace

domain::suggest::Document DocumentOf(const thesis::v1::Thesis& t) {
  domain::suggest::Document doc;
  doc.title = t.title_en().empty() ? t.title_zh() : absl::StrCat(t.title_zh(), " ", t.title_en());
  doc.abstract_text = t.abstract_en().empty() ? t.abstract_zh()
                                              : absl::StrCat(t.abstract_zh(), " ", t.abstract_en());
  doc.keywords.assign(t.keywords_zh().begin(), t.keywords_zh().end());
  doc.keywords.insert(doc.keywords.end(), t.keywords_en().begin(), t.keywords_en().end());
  return doc;
}

SuggestionModels::Slot& SuggestionModels::SlotFor(const Key& key) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<Slot>& slot = slots_[key];
  if (slot == nullptr) slot = std::make_unique<Slot>();
  return *slot;
}

absl::StatusOr<std::shared_ptr<const SuggestionModels::Model>> SuggestionModels::Get(
    storage::Session& session, const storage::CallContext& ctx, const storage::ClassSnapshot& now,
    int level, bool rebuild) {
  Slot& slot = SlotFor({now.tree->scheme(), level});
  auto current = [&slot] {
    absl::MutexLock lock(&slot.mu);
    return slot.model;
  };
  std::shared_ptr<const Model> model_now = current();
  if (model_now != nullptr && !rebuild && !Stale(*model_now, now)) return model_now;
  if (model_now != nullptr && !rebuild) {
    if (!slot.build_mu.TryLock()) return model_now;  // another call is rebuilding it
  } else {
    slot.build_mu.Lock();
  }
  struct Unlock {
    absl::Mutex& mu;
    ~Unlock() { mu.Unlock(); }
  } unlock{slot.build_mu};
  // Built by the call this one waited for?
  model_now = current();
  if (model_now != nullptr && !rebuild && !Stale(*model_now, now)) return model_now;

  absl::StatusOr<std::vector<thesis::v1::Thesis>> theses =
      session.classes().LabelledTheses(ctx, now.tree->scheme(), max_training_);
  if (!theses.ok()) return theses.status();
  const domain::classes::SchemeTree& tree = *now.tree;
  std::vector<domain::suggest::Example> examples;
  examples.reserve(theses->size());
  for (const thesis::v1::Thesis& t : *theses) {
    for (int index : tree.DirectClasses(t)) {
      const int at = tree.AncestorAt(index, level);
      if (at < 0) continue;
      examples.push_back({DocumentOf(t), tree.nodes()[at].code});
      break;
    }
  }
  // The weights are features x labels floats: keep them near 40 MB however
  // many classes the level has (CLC level 2 has about 250).
  absl::flat_hash_set<std::string> labels;
  for (const auto& e : examples) labels.insert(e.label);
  domain::suggest::TrainOptions options;
  options.max_features = static_cast<int>(
      std::clamp<int64_t>(kMaxWeights / std::max<int64_t>(1, static_cast<int64_t>(labels.size())),
                          20000, options.max_features));
  auto model = std::make_shared<Model>();
  model->suggester = domain::suggest::Suggester::Train(examples, options);
  model->tree = now.tree;
  model->level = level;
  model->training_theses = static_cast<int64_t>(examples.size());
  auto it = now.counts.find(domain::classes::kClassified);
  model->classified_at_build = it == now.counts.end() ? 0 : it->second.subtree_theses;
  model->built = absl::Now();
  absl::MutexLock lock(&slot.mu);
  slot.model = std::move(model);
  return slot.model;
}

}  // namespace thesis::api
