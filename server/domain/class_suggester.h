// Class suggestions for thesis records: a text classifier trained from the
// records already filed in a classification scheme (labels are class codes
// such as `D63` or category names such as `法学`) that ranks the labels for a
// new record's title, abstract and keywords. Pure values and functions: no
// gRPC, no SQL. See docs/classification.md for the model and its evaluation.
//
// Model: TF-IDF weighted features (Han character 1..3-grams, which need no
// word segmentation; stemmed Latin words; whole keywords), with per-field
// weights, sublinear term frequency and L2 normalization, then a multinomial
// logistic regression trained by SGD in a fixed order (seeded shuffle), so
// the same examples and options always give the same model and scores.
#ifndef THESIS_SERVER_DOMAIN_CLASS_SUGGESTER_H_
#define THESIS_SERVER_DOMAIN_CLASS_SUGGESTER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace thesis::domain::suggest {

struct Document {
  std::string title;
  std::string abstract_text;
  std::vector<std::string> keywords;
};

struct Example {
  Document doc;
  std::string label;  // examples with an empty label are ignored
  // Scales the example's share of the training loss (its SGD steps): 2 counts
  // it as if it were there twice. Examples whose weight is not a positive
  // finite number are ignored. The default 1 gives the unweighted model.
  double weight = 1.0;
};

struct Suggestion {
  std::string label;
  double score;  // the model's probability of the label, in [0, 1]
};

struct TrainOptions {
  // Field weights: a term's weight in a document is the sum over fields of
  // weight * (1 + ln count). Titles and keywords are short and chosen by the
  // author to name the subject, so they count more than abstract words.
  double title_weight = 2.0;
  double keyword_weight = 1.5;
  double abstract_weight = 1.0;
  // Longest Han character n-gram (1..4).
  int max_ngram = 3;
  // Features seen in fewer training documents are dropped (they cannot
  // generalize and would only cost memory); not applied below 100 examples.
  // When more than max_features remain, the most frequent are kept.
  int min_document_frequency = 2;
  int max_features = 400000;
  // SGD on the L2-regularized multinomial log loss, visiting the examples
  // in a seeded shuffle each epoch. The model is the average of the weights
  // at the end of each epoch of the second half: it smooths out the noise of
  // the last steps at a near-constant learning rate.
  int epochs = 20;
  double learning_rate = 2.0;
  double l2 = 1e-6;
  bool average = true;
  uint64_t seed = 1;
  // Bounds the training time: when epochs x (sum over examples of their
  // features) x labels exceeds this, fewer epochs are run (at least 3); a
  // large set needs fewer passes anyway. 10,000 full records with 67 labels
  // get 8 epochs and build in 4-6 s on one core.
  double max_work = 2e9;
};

// Text normalization shared by training and queries: invalid UTF-8 bytes
// dropped, full-width ASCII (U+FF01..U+FF5E) to ASCII, U+3000 to a space,
// ASCII letters lower-cased. Exposed for tests and baselines.
std::string NormalizeText(absl::string_view text);

// A light English stemmer (plural and common inflection suffixes), applied to
// lower-cased Latin words: `networks` -> `network`, `studies` -> `study`.
std::string StemLatin(absl::string_view word);

// A trained model. Immutable once built: every method is const and touches
// no shared mutable state, so one model may serve many threads at once.
class Suggester {
 public:
  // An untrained model: suggests nothing.
  Suggester() = default;

  static Suggester Train(const std::vector<Example>& examples, const TrainOptions& options = {});

  // At most top_k labels, by descending score, ties by label. Empty when
  // top_k <= 0, the model is untrained or the document has no known feature.
  std::vector<Suggestion> Suggest(const Document& doc, int top_k) const;

  size_t examples() const { return examples_; }
  size_t labels() const { return labels_.size(); }
  size_t features() const { return idf_.size(); }
  int epochs() const { return epochs_; }  // run by Train (see max_work)

 private:
  struct SparseVector {
    std::vector<int32_t> index;  // ascending
    std::vector<float> value;
  };

  // The L2-normalized TF-IDF vector of a document over the known features.
  SparseVector Vectorize(const Document& doc) const;

  TrainOptions options_;
  size_t examples_ = 0;
  int epochs_ = 0;
  std::vector<std::string> labels_;  // sorted
  // Feature hash -> column; idf_ and the weight rows are indexed by column.
  absl::flat_hash_map<uint64_t, int32_t> columns_;
  std::vector<float> idf_;
  std::vector<float> weights_;  // features() x labels(), row-major
  std::vector<float> bias_;     // labels()
};

}  // namespace thesis::domain::suggest

#endif  // THESIS_SERVER_DOMAIN_CLASS_SUGGESTER_H_
