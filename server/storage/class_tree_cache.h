// The classification tables a process has loaded, shared by its database
// sessions. Each tree carries the generation it was loaded at; a write
// places theses with the cached tree and the database refuses placements
// made with an older generation (class_place), so a stale copy costs a
// reload, never a wrong count.
#ifndef THESIS_SERVER_STORAGE_CLASS_TREE_CACHE_H_
#define THESIS_SERVER_STORAGE_CLASS_TREE_CACHE_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "server/domain/class_tree.h"

namespace thesis::storage {

class ClassTreeCache {
 public:
  using Tree = std::shared_ptr<const domain::classes::SchemeTree>;

  // nullptr when not loaded.
  Tree Get(const std::string& scheme) const {
    absl::MutexLock lock(&mu_);
    auto it = trees_.find(scheme);
    return it == trees_.end() ? nullptr : it->second;
  }
  void Put(Tree tree) {
    absl::MutexLock lock(&mu_);
    Tree& slot = trees_[tree->scheme()];
    if (slot == nullptr || slot->generation() <= tree->generation()) slot = std::move(tree);
  }
  void Forget(const std::string& scheme) {
    absl::MutexLock lock(&mu_);
    trees_.erase(scheme);
  }

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Tree> trees_ ABSL_GUARDED_BY(mu_);
};

}  // namespace thesis::storage

#endif  // THESIS_SERVER_STORAGE_CLASS_TREE_CACHE_H_
