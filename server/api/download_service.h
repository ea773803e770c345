// gRPC adapter of DownloadService: events go to the group-commit recorder,
// reads to the worker pool.
#ifndef THESIS_SERVER_API_DOWNLOAD_SERVICE_H_
#define THESIS_SERVER_API_DOWNLOAD_SERVICE_H_

#include "server/api/access.h"
#include "server/api/download_recorder.h"
#include "server/common/worker_pool.h"
#include "server/domain/page_token.h"
#include "thesis/v1/download.grpc.pb.h"

namespace thesis::api {

class DownloadServiceImpl final : public thesis::v1::DownloadService::CallbackService {
 public:
  DownloadServiceImpl(WorkerPool& pool, DownloadRecorder& recorder,
                      const domain::PageTokenCodec& page_tokens, Access& access)
      : pool_(pool), recorder_(recorder), page_tokens_(page_tokens), access_(access) {}

  grpc::ServerUnaryReactor* RecordDownload(grpc::CallbackServerContext* context,
                                           const thesis::v1::RecordDownloadRequest* request,
                                           thesis::v1::RecordDownloadResponse* response) override;
  grpc::ServerUnaryReactor* BatchRecordDownloads(
      grpc::CallbackServerContext* context, const thesis::v1::BatchRecordDownloadsRequest* request,
      thesis::v1::BatchRecordDownloadsResponse* response) override;
  grpc::ServerUnaryReactor* GetDownloadStats(
      grpc::CallbackServerContext* context, const thesis::v1::GetDownloadStatsRequest* request,
      thesis::v1::GetDownloadStatsResponse* response) override;
  grpc::ServerUnaryReactor* BatchGetDownloadCounts(
      grpc::CallbackServerContext* context,
      const thesis::v1::BatchGetDownloadCountsRequest* request,
      thesis::v1::BatchGetDownloadCountsResponse* response) override;
  grpc::ServerUnaryReactor* ListTopTheses(grpc::CallbackServerContext* context,
                                          const thesis::v1::ListTopThesesRequest* request,
                                          thesis::v1::ListTopThesesResponse* response) override;
  grpc::ServerUnaryReactor* GetItemReport(grpc::CallbackServerContext* context,
                                          const thesis::v1::GetItemReportRequest* request,
                                          thesis::v1::GetItemReportResponse* response) override;

 private:
  WorkerPool& pool_;
  DownloadRecorder& recorder_;
  const domain::PageTokenCodec& page_tokens_;
  Access& access_;
};

}  // namespace thesis::api

#endif  // THESIS_SERVER_API_DOWNLOAD_SERVICE_H_
