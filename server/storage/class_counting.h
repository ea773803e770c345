// Counting theses in classes from their placements: what both backends'
// recounts do, so that "from scratch" means the same everywhere.
#ifndef THESIS_SERVER_STORAGE_CLASS_COUNTING_H_
#define THESIS_SERVER_STORAGE_CLASS_COUNTING_H_

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "server/domain/class_tree.h"
#include "server/storage/session.h"

namespace thesis::storage {

// Adds one thesis, placed as `placement`, to `counts`.
inline void CountPlacement(const domain::classes::Placement& placement, int64_t downloads,
                           int64_t legacy, absl::flat_hash_map<std::string, ClassCounts>* counts) {
  for (const auto& [code, direct] : placement.classes) {
    ClassCounts& c = (*counts)[code];
    if (direct) ++c.direct_theses;
    ++c.subtree_theses;
    c.subtree_downloads += downloads;
    c.subtree_legacy += legacy;
  }
}

}  // namespace thesis::storage

#endif  // THESIS_SERVER_STORAGE_CLASS_COUNTING_H_
