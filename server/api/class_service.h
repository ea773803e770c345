// gRPC adapter of ClassificationService: browse the trees with their
// rolled-up counts, resolve codes, list the theses of a class, suggest
// classes, import tables.
#ifndef THESIS_SERVER_API_CLASS_SERVICE_H_
#define THESIS_SERVER_API_CLASS_SERVICE_H_

#include "server/api/access.h"
#include "server/api/suggestion_models.h"
#include "server/common/worker_pool.h"
#include "server/domain/page_token.h"
#include "thesis/v1/classification.grpc.pb.h"

namespace thesis::api {

class ClassificationServiceImpl final : public thesis::v1::ClassificationService::CallbackService {
 public:
  ClassificationServiceImpl(WorkerPool& pool, const domain::PageTokenCodec& page_tokens,
                            Access& access)
      : pool_(pool), page_tokens_(page_tokens), access_(access) {}

  grpc::ServerUnaryReactor* ListSchemes(grpc::CallbackServerContext* context,
                                        const thesis::v1::ListSchemesRequest* request,
                                        thesis::v1::ListSchemesResponse* response) override;
  grpc::ServerUnaryReactor* GetScheme(grpc::CallbackServerContext* context,
                                      const thesis::v1::GetSchemeRequest* request,
                                      thesis::v1::Scheme* response) override;
  grpc::ServerUnaryReactor* GetClass(grpc::CallbackServerContext* context,
                                     const thesis::v1::GetClassRequest* request,
                                     thesis::v1::Class* response) override;
  grpc::ServerUnaryReactor* ListChildren(grpc::CallbackServerContext* context,
                                         const thesis::v1::ListChildrenRequest* request,
                                         thesis::v1::ListChildrenResponse* response) override;
  grpc::ServerUnaryReactor* GetClassTree(grpc::CallbackServerContext* context,
                                         const thesis::v1::GetClassTreeRequest* request,
                                         thesis::v1::GetClassTreeResponse* response) override;
  grpc::ServerUnaryReactor* ResolveCodes(grpc::CallbackServerContext* context,
                                         const thesis::v1::ResolveCodesRequest* request,
                                         thesis::v1::ResolveCodesResponse* response) override;
  grpc::ServerUnaryReactor* ListThesesInClass(
      grpc::CallbackServerContext* context, const thesis::v1::ListThesesInClassRequest* request,
      thesis::v1::ListThesesInClassResponse* response) override;
  grpc::ServerUnaryReactor* SuggestClasses(grpc::CallbackServerContext* context,
                                           const thesis::v1::SuggestClassesRequest* request,
                                           thesis::v1::SuggestClassesResponse* response) override;
  grpc::ServerUnaryReactor* RebuildSuggestionModel(
      grpc::CallbackServerContext* context,
      const thesis::v1::RebuildSuggestionModelRequest* request,
      thesis::v1::RebuildSuggestionModelResponse* response) override;
  grpc::ServerReadReactor<thesis::v1::ImportClassesRequest>* ImportClasses(
      grpc::CallbackServerContext* context, thesis::v1::ImportClassesResponse* response) override;

 private:
  WorkerPool& pool_;
  const domain::PageTokenCodec& page_tokens_;
  Access& access_;
  SuggestionModels models_;
};

}  // namespace thesis::api

#endif  // THESIS_SERVER_API_CLASS_SERVICE_H_
