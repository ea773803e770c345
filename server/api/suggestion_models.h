// Class suggestion models, one per scheme and level, trained from the
// theses stored in that scheme and kept in memory. A model is rebuilt when
// asked (RebuildSuggestionModel), when its scheme's table changed, or when
// the number of classified theses moved by more than a tenth (and at least
// kMinChange) since it was built.
#ifndef THESIS_SERVER_API_SUGGESTION_MODELS_H_
#define THESIS_SERVER_API_SUGGESTION_MODELS_H_

#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/domain/class_suggester.h"
#include "server/domain/class_tree.h"
#include "server/storage/session.h"

namespace thesis::api {

class SuggestionModels {
 public:
  struct Model {
    domain::suggest::Suggester suggester;
    std::shared_ptr<const domain::classes::SchemeTree> tree;
    int level = 0;
    int64_t training_theses = 0;
    int64_t classified_at_build = 0;
    absl::Time built;
  };

  // Theses learned from at most (the most recent by id are not preferred:
  // the first `max_training` by id, which is stable).
  explicit SuggestionModels(int max_training = 50000) : max_training_(max_training) {}

  // The model for the snapshot's scheme at `level`, built first when there
  // is none, it is stale, or `rebuild` is set. While one call rebuilds a
  // stale model, the others are answered with the stale one instead of
  // waiting (a build takes seconds and holds a database worker).
  absl::StatusOr<std::shared_ptr<const Model>> Get(storage::Session& session,
                                                   const storage::CallContext& ctx,
                                                   const storage::ClassSnapshot& now, int level,
                                                   bool rebuild);

  static constexpr int64_t kMinChange = 50;

 private:
  using Key = std::pair<std::string, int>;
  struct Slot {
    absl::Mutex build_mu;  // held while building: one build per key at a time
    absl::Mutex mu;
    std::shared_ptr<const Model> model ABSL_GUARDED_BY(mu);
  };

  Slot& SlotFor(const Key& key);

  const int max_training_;
  absl::Mutex mu_;
  std::map<Key, std::unique_ptr<Slot>> slots_ ABSL_GUARDED_BY(mu_);
};

// The suggester's document for a thesis: both titles, both abstracts, all
// keywords.
domain::suggest::Document DocumentOf(const thesis::v1::Thesis& thesis);

}  // namespace thesis::api

#endif  // THESIS_SERVER_API_SUGGESTION_MODELS_H_
