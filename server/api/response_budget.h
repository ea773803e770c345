// Keeps responses that carry whole thesis records under the size a gRPC
// client accepts by default (4 MiB per received message). A CNKI record with
// its Chinese and English abstracts is often 5-10 KB, so a page of 500 or
// 1,000 of them would be refused by every client that kept the default.
#ifndef THESIS_SERVER_API_RESPONSE_BUDGET_H_
#define THESIS_SERVER_API_RESPONSE_BUDGET_H_

#include <cstddef>

#include "google/protobuf/repeated_ptr_field.h"
#include "thesis/v1/thesis.pb.h"

namespace thesis::api {

// Bytes of records one ListTheses, ExportTheses or ListThesesInClass
// response holds at most (a single larger record still goes alone).
inline constexpr size_t kResponseRecordBytes = size_t{1} << 20;

// How many of `records` (Thesis or a message holding one), counted from
// `first`, go in one response of at most `budget` bytes: at least one, when
// there is one.
template <typename Record>
int RecordsWithinBudget(const google::protobuf::RepeatedPtrField<Record>& records, int first = 0,
                        size_t budget = kResponseRecordBytes) {
  size_t bytes = 0;
  int n = 0;
  for (int i = first; i < records.size(); ++i, ++n) {
    bytes += records.Get(i).ByteSizeLong();
    if (n > 0 && bytes > budget) break;
  }
  return n;
}

// Drops the records of a page beyond the budget (AIP-158 allows a page to
// hold fewer than page_size). Returns the last record kept when any were
// dropped, so that the caller continues the next page after it; else null.
template <typename Record>
const Record* TrimToBudget(google::protobuf::RepeatedPtrField<Record>* records) {
  const int fit = RecordsWithinBudget(*records);
  if (fit == records->size()) return nullptr;
  records->DeleteSubrange(fit, records->size() - fit);
  return &records->Get(fit - 1);
}

}  // namespace thesis::api

#endif  // THESIS_SERVER_API_RESPONSE_BUDGET_H_
