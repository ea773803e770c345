// The streaming RPCs of ThesisService: ImportTheses and ExportTheses.
#ifndef THESIS_SERVER_API_THESIS_BULK_H_
#define THESIS_SERVER_API_THESIS_BULK_H_

#include <grpcpp/grpcpp.h>

#include "server/common/worker_pool.h"
#include "server/domain/list_query.h"
#include "thesis/v1/thesis.pb.h"

namespace thesis::api {

// Records per storage transaction: at most kImportBatchSize, and a batch is
// closed once its records reach kImportBatchBytes, so that the five batches
// an import holds at most (two written, two waiting, one filling) stay
// within 5 x 16 MiB of records (plus their search documents) even when the
// records are of the maximum size (~270 KB with both abstracts).
inline constexpr size_t kImportBatchSize = 4000;
inline constexpr size_t kImportBatchBytes = size_t{16} << 20;
// Records per storage query of an export; each ExportThesesResponse holds
// at most kResponseRecordBytes of them (response_budget.h).
inline constexpr int kExportPageSize = 500;
inline constexpr int kMaxReportedFailures = 10000;

// Reads the stream, validates each record, and writes valid ones in batches
// on the worker pool, one batch at a time: the next messages are read only
// when the previous batch committed, so memory stays bounded whatever the
// stream's length.
grpc::ServerReadReactor<thesis::v1::ImportThesesRequest>* StartImport(
    grpc::CallbackServerContext* context, WorkerPool& pool,
    thesis::v1::ImportThesesResponse* response);

// Streams every match of `query` (whose page_size and after are managed
// here), one keyset page at a time: constant memory on the server.
grpc::ServerWriteReactor<thesis::v1::ExportThesesResponse>* StartExport(
    grpc::CallbackServerContext* context, WorkerPool& pool, domain::ListQuery query);

}  // namespace thesis::api

#endif  // THESIS_SERVER_API_THESIS_BULK_H_
