// gRPC adapter of ThesisService: validates requests, maps them to storage
// calls run on the worker pool, and maps the answers back.
#ifndef THESIS_SERVER_API_THESIS_SERVICE_H_
#define THESIS_SERVER_API_THESIS_SERVICE_H_

#include "server/api/access.h"
#include "server/common/worker_pool.h"
#include "server/domain/page_token.h"
#include "thesis/v1/thesis.grpc.pb.h"

namespace thesis::api {

class ThesisServiceImpl final : public thesis::v1::ThesisService::CallbackService {
 public:
  ThesisServiceImpl(WorkerPool& pool, const domain::PageTokenCodec& page_tokens, Access& access)
      : pool_(pool), page_tokens_(page_tokens), access_(access) {}

  grpc::ServerUnaryReactor* CreateThesis(grpc::CallbackServerContext* context,
                                         const thesis::v1::CreateThesisRequest* request,
                                         thesis::v1::Thesis* response) override;
  grpc::ServerUnaryReactor* GetThesis(grpc::CallbackServerContext* context,
                                      const thesis::v1::GetThesisRequest* request,
                                      thesis::v1::Thesis* response) override;
  grpc::ServerUnaryReactor* BatchGetTheses(grpc::CallbackServerContext* context,
                                           const thesis::v1::BatchGetThesesRequest* request,
                                           thesis::v1::BatchGetThesesResponse* response) override;
  grpc::ServerUnaryReactor* UpdateThesis(grpc::CallbackServerContext* context,
                                         const thesis::v1::UpdateThesisRequest* request,
                                         thesis::v1::Thesis* response) override;
  grpc::ServerUnaryReactor* DeleteThesis(grpc::CallbackServerContext* context,
                                         const thesis::v1::DeleteThesisRequest* request,
                                         thesis::v1::DeleteThesisResponse* response) override;
  grpc::ServerUnaryReactor* ListTheses(grpc::CallbackServerContext* context,
                                       const thesis::v1::ListThesesRequest* request,
                                       thesis::v1::ListThesesResponse* response) override;
  grpc::ServerReadReactor<thesis::v1::ImportThesesRequest>* ImportTheses(
      grpc::CallbackServerContext* context, thesis::v1::ImportThesesResponse* response) override;
  grpc::ServerWriteReactor<thesis::v1::ExportThesesResponse>* ExportTheses(
      grpc::CallbackServerContext* context,
      const thesis::v1::ExportThesesRequest* request) override;
  // In thesis_search.cc.
  grpc::ServerUnaryReactor* SearchTheses(grpc::CallbackServerContext* context,
                                         const thesis::v1::SearchThesesRequest* request,
                                         thesis::v1::SearchThesesResponse* response) override;

 private:
  WorkerPool& pool_;
  const domain::PageTokenCodec& page_tokens_;
  Access& access_;
};

}  // namespace thesis::api

#endif  // THESIS_SERVER_API_THESIS_SERVICE_H_
