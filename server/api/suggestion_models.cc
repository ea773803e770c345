#include "server/api/suggestion_models.h"

#include <cstdlib>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace thesis::api {
namespace {

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
  doc.abstract_text =
      t.abstract_en().empty() ? t.abstract_zh() : absl::StrCat(t.abstract_zh(), " ", t.abstract_en());
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
  absl::MutexLock lock(&slot.build_mu);
  if (slot.model != nullptr && !rebuild && !Stale(*slot.model, now)) return slot.model;

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
  auto model = std::make_shared<Model>();
  model->suggester = domain::suggest::Suggester::Train(examples);
  model->tree = now.tree;
  model->level = level;
  model->training_theses = static_cast<int64_t>(examples.size());
  auto it = now.counts.find(domain::classes::kClassified);
  model->classified_at_build = it == now.counts.end() ? 0 : it->second.subtree_theses;
  model->built = absl::Now();
  slot.model = std::move(model);
  return slot.model;
}

}  // namespace thesis::api
