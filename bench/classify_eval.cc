// thesis-classify-eval: cross-validated accuracy and speed of the class
// suggester (server/domain/class_suggester.h) on the CSL data set, next to
// naive Bayes baselines over character bigrams. See docs/classification.md.
//
//   build/bench/thesis-classify-eval [--folds=5] [--seed=1]
//
// Schemes:
//   categories   13 categories; train = every title of --train_titles plus
//                the other dev folds (full text); test = one dev fold.
//   disciplines  67 first-level disciplines; the titles file lacks them, so
//                train = the other dev folds only.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "server/common/utf8.h"
#include "server/domain/class_suggester.h"

ABSL_FLAG(std::string, train_titles, "../shared/data/csl/csl-train-titles-8000.tsv",
          "title<TAB>category lines, with a header line");
ABSL_FLAG(std::string, dev, "../shared/data/csl/csl-dev-1000.jsonl",
          "JSON lines with title, abstract, keywords, discipline, category");
ABSL_FLAG(int, folds, 5, "cross-validation folds over the dev records");
ABSL_FLAG(uint64_t, seed, 1, "seed of the fold assignment and of the training order");
ABSL_FLAG(bool, baselines, true, "also evaluate the naive Bayes baselines");
// Model options, for experiments; the defaults are TrainOptions'.
ABSL_FLAG(std::optional<int>, epochs, std::nullopt, "SGD epochs");
ABSL_FLAG(std::optional<double>, learning_rate, std::nullopt, "SGD initial learning rate");
ABSL_FLAG(std::optional<double>, l2, std::nullopt, "L2 regularization");
ABSL_FLAG(std::optional<double>, title_weight, std::nullopt, "title field weight");
ABSL_FLAG(std::optional<double>, keyword_weight, std::nullopt, "keywords field weight");
ABSL_FLAG(std::optional<double>, abstract_weight, std::nullopt, "abstract field weight");
ABSL_FLAG(std::optional<int>, max_ngram, std::nullopt, "longest Han n-gram");
ABSL_FLAG(bool, average, true, "average the weights of the last half of the epochs");
ABSL_FLAG(std::optional<int>, min_df, std::nullopt, "minimum document frequency");
ABSL_FLAG(double, full_text_weight, 1.0,
          "Example::weight of the full-text (dev) training records of the categories; the "
          "8,000 title rows keep weight 1");
ABSL_FLAG(bool, augment_titles, false,
          "also train on a title+keywords-only copy of each full-text training record");

namespace {

using thesis::AppendUtf8;

using thesis::domain::suggest::Document;
using thesis::domain::suggest::Example;
using thesis::domain::suggest::Suggester;
using thesis::domain::suggest::TrainOptions;

struct Record {
  Document doc;
  std::string category;
  std::string discipline;
};

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A reader for the flat JSON objects of the dev file: string values, arrays
// of strings, and scalars (skipped). Enough for this data; not a general
// JSON parser (no nested objects).
class FlatJson {
 public:
  explicit FlatJson(absl::string_view text) : text_(text) {}

  // Fields of one object; false on a syntax error.
  bool Parse(absl::flat_hash_map<std::string, std::vector<std::string>>* fields) {
    Skip();
    if (!Eat('{')) return false;
    Skip();
    if (Eat('}')) return true;
    while (true) {
      std::string key;
      Skip();
      if (!String(&key)) return false;
      Skip();
      if (!Eat(':')) return false;
      Skip();
      std::vector<std::string>& values = (*fields)[key];
      if (Peek() == '"') {
        values.emplace_back();
        if (!String(&values.back())) return false;
      } else if (Eat('[')) {
        Skip();
        if (!Eat(']')) {
          while (true) {
            Skip();
            values.emplace_back();
            if (!String(&values.back())) return false;
            Skip();
            if (Eat(']')) break;
            if (!Eat(',')) return false;
          }
        }
      } else {
        // number, true, false, null
        while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '}') ++pos_;
      }
      Skip();
      if (Eat('}')) return true;
      if (!Eat(',')) return false;
    }
  }

 private:
  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  bool Eat(char c) {
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }
  void Skip() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\r' || text_[pos_] == '\n'))
      ++pos_;
  }
  bool Hex4(uint32_t* out) {
    if (pos_ + 4 > text_.size()) return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= c - '0';
      } else if (c >= 'a' && c <= 'f') {
        v |= c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        v |= c - 'A' + 10;
      } else {
        return false;
      }
    }
    *out = v;
    return true;
  }
  bool String(std::string* out) {
    if (!Eat('"')) return false;
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == '"') return true;
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) return false;
      const char e = text_[pos_++];
      switch (e) {
        case 'n':
          out->push_back('\n');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'u': {
          uint32_t c1;
          if (!Hex4(&c1)) return false;
          // A surrogate pair encodes one character above U+FFFF.
          if (c1 >= 0xD800 && c1 <= 0xDBFF && pos_ + 6 <= text_.size() && text_[pos_] == '\\' &&
              text_[pos_ + 1] == 'u') {
            pos_ += 2;
            uint32_t c2;
            if (!Hex4(&c2)) return false;
            if (c2 >= 0xDC00 && c2 <= 0xDFFF) {
              c1 = 0x10000 + ((c1 - 0xD800) << 10) + (c2 - 0xDC00);
            } else {
              AppendUtf8(0xFFFD, out);
              c1 = c2;
            }
          }
          if (c1 >= 0xD800 && c1 <= 0xDFFF) c1 = 0xFFFD;
          AppendUtf8(c1, out);
          break;
        }
        default:  // " \ /
          out->push_back(e);
      }
    }
    return false;
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

std::string First(const absl::flat_hash_map<std::string, std::vector<std::string>>& fields,
                  const std::string& key) {
  const auto it = fields.find(key);
  return it == fields.end() || it->second.empty() ? std::string() : it->second.front();
}

bool LoadTitles(const std::string& path, std::vector<Record>* out) {
  const std::optional<std::string> text = ReadFile(path);
  if (!text) {
    std::cerr << "thesis-classify-eval: cannot read the titles file " << path
              << " (set --train_titles; run from the project root)\n";
    return false;
  }
  bool header = true;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (header) {  // title<TAB>category
      header = false;
      continue;
    }
    std::vector<absl::string_view> parts = absl::StrSplit(line, '\t');
    if (parts.size() < 2) continue;
    Record record;
    record.doc.title = std::string(parts[0]);
    record.category = std::string(parts[1]);
    out->push_back(std::move(record));
  }
  return true;
}

bool LoadDev(const std::string& path, std::vector<Record>* out) {
  const std::optional<std::string> text = ReadFile(path);
  if (!text) {
    std::cerr << "thesis-classify-eval: cannot read the dev file " << path
              << " (set --dev; run from the project root)\n";
    return false;
  }
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == absl::string_view::npos) continue;
    absl::flat_hash_map<std::string, std::vector<std::string>> fields;
    if (!FlatJson(line).Parse(&fields)) {
      std::cerr << "thesis-classify-eval: " << path << ":" << line_number
                << ": not a flat JSON object\n";
      return false;
    }
    Record record;
    record.doc.title = First(fields, "title");
    record.doc.abstract_text = First(fields, "abstract");
    record.doc.keywords = fields["keywords"];
    record.category = First(fields, "category");
    record.discipline = First(fields, "discipline");
    out->push_back(std::move(record));
  }
  return true;
}

// The classifier interface the evaluation loop needs: ranked labels.
struct Ranker {
  virtual ~Ranker() = default;
  virtual std::vector<std::string> Rank(const Document& doc, int top_k) const = 0;
  virtual size_t Features() const = 0;
};

class SuggesterRanker : public Ranker {
 public:
  SuggesterRanker(const std::vector<Example>& train, const TrainOptions& options)
      : model_(Suggester::Train(train, options)) {}
  std::vector<std::string> Rank(const Document& doc, int top_k) const override {
    std::vector<std::string> out;
    for (const auto& s : model_.Suggest(doc, top_k)) out.push_back(s.label);
    return out;
  }
  size_t Features() const override { return model_.features(); }

 private:
  Suggester model_;
};

// Character bigrams of the whole text (title, keywords, abstract) after the
// suggester's normalization, whitespace excluded.
std::vector<std::string> Bigrams(const Document& doc) {
  std::string text = doc.title;
  for (const std::string& k : doc.keywords) text += " " + k;
  text += " " + doc.abstract_text;
  const std::string normalized = thesis::domain::suggest::NormalizeText(text);
  std::vector<std::string> chars;
  for (size_t i = 0; i < normalized.size();) {
    const unsigned char b = normalized[i];
    const size_t len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    chars.push_back(normalized.substr(i, len));
    i += len;
  }
  std::vector<std::string> out;
  for (size_t i = 0; i + 1 < chars.size(); ++i) {
    if (chars[i] == " " || chars[i + 1] == " ") continue;
    out.push_back(chars[i] + chars[i + 1]);
  }
  return out;
}

// Multinomial naive Bayes (Laplace smoothing) or, with complement = true,
// complement naive Bayes (Rennie et al. 2003: each class scored by the
// counts of all the other classes, weights normalized), over bigrams.
class NaiveBayesRanker : public Ranker {
 public:
  NaiveBayesRanker(const std::vector<Example>& train, bool complement) {
    absl::flat_hash_map<std::string, int> label_index;
    for (const Example& e : train) {
      if (label_index.emplace(e.label, static_cast<int>(labels_.size())).second) {
        labels_.push_back(e.label);
      }
    }
    const size_t L = labels_.size();
    std::vector<double> docs_per_label(L, 0);
    absl::flat_hash_map<std::string, std::vector<double>> counts;
    for (const Example& e : train) {
      const int y = label_index[e.label];
      docs_per_label[y] += 1;
      for (const std::string& g : Bigrams(e.doc)) {
        auto& row = counts[g];
        if (row.empty()) row.assign(L, 0);
        row[y] += 1;
      }
    }
    std::vector<double> total(L, 0);
    double all = 0;
    for (const auto& [g, row] : counts) {
      for (size_t k = 0; k < L; ++k) total[k] += row[k];
    }
    for (double t : total) all += t;
    const double v = static_cast<double>(counts.size());
    std::vector<double> norm(L, 0);
    for (auto& [g, row] : counts) {
      double row_sum = 0;
      for (double c : row) row_sum += c;
      std::vector<double>& w = weights_[g];
      w.resize(L);
      for (size_t k = 0; k < L; ++k) {
        w[k] = complement ? -std::log((row_sum - row[k] + 1.0) / (all - total[k] + v))
                          : std::log((row[k] + 1.0) / (total[k] + v));
        norm[k] += std::abs(w[k]);
      }
    }
    unseen_.resize(L);
    for (size_t k = 0; k < L; ++k) {
      unseen_[k] =
          complement ? -std::log(1.0 / (all - total[k] + v)) : std::log(1.0 / (total[k] + v));
    }
    if (complement) {
      for (auto& [g, w] : weights_) {
        for (size_t k = 0; k < L; ++k) w[k] /= norm[k];
      }
      for (size_t k = 0; k < L; ++k) unseen_[k] /= norm[k];
    }
    prior_.resize(L);
    for (size_t k = 0; k < L; ++k) {
      prior_[k] =
          complement ? 0.0 : std::log(docs_per_label[k] / static_cast<double>(train.size()));
    }
  }

  size_t Features() const override { return weights_.size(); }
  std::vector<std::string> Rank(const Document& doc, int top_k) const override {
    std::vector<double> scores = prior_;
    for (const std::string& g : Bigrams(doc)) {
      const auto it = weights_.find(g);
      // Unknown bigrams: under Laplace smoothing they still shift the
      // classes by their different totals.
      const std::vector<double>& w = it == weights_.end() ? unseen_ : it->second;
      for (size_t k = 0; k < scores.size(); ++k) scores[k] += w[k];
    }
    std::vector<size_t> order(scores.size());
    for (size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return scores[a] != scores[b] ? scores[a] > scores[b] : labels_[a] < labels_[b];
    });
    std::vector<std::string> out;
    for (size_t i = 0; i < order.size() && static_cast<int>(i) < top_k; ++i) {
      out.push_back(labels_[order[i]]);
    }
    return out;
  }

 private:
  std::vector<std::string> labels_;
  absl::flat_hash_map<std::string, std::vector<double>> weights_;
  std::vector<double> unseen_;
  std::vector<double> prior_;
};

enum class Model { kSuggester, kNaiveBayes, kComplementNaiveBayes };

struct Result {
  int tested = 0;
  int top1 = 0;
  int top3 = 0;
  double train_ms = 0;               // sum over folds
  size_t features = 0;               // of the last fold's model
  std::vector<double> query_micros;  // every query
};

uint64_t SplitMix(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double MillisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

Result Evaluate(Model model, bool categories, const std::vector<Record>& titles,
                const std::vector<Record>& dev, const std::vector<int>& fold_of, int folds,
                const TrainOptions& options) {
  auto label = [categories](const Record& r) { return categories ? r.category : r.discipline; };
  Result result;
  for (int fold = 0; fold < folds; ++fold) {
    std::vector<Example> train;
    if (categories) {
      for (const Record& r : titles) train.push_back({r.doc, r.category});
    }
    std::vector<const Record*> test;
    for (size_t i = 0; i < dev.size(); ++i) {
      if (fold_of[i] == fold) {
        test.push_back(&dev[i]);
      } else {
        train.push_back({dev[i].doc, label(dev[i])});
        if (categories) train.back().weight = absl::GetFlag(FLAGS_full_text_weight);
        if (absl::GetFlag(FLAGS_augment_titles)) {
          train.push_back({Document{dev[i].doc.title, "", dev[i].doc.keywords}, label(dev[i])});
        }
      }
    }
    const auto start = std::chrono::steady_clock::now();
    std::unique_ptr<Ranker> ranker;
    if (model == Model::kSuggester) {
      ranker = std::make_unique<SuggesterRanker>(train, options);
    } else {
      ranker = std::make_unique<NaiveBayesRanker>(train, model == Model::kComplementNaiveBayes);
    }
    result.train_ms += MillisSince(start);
    result.features = ranker->Features();
    for (const Record* r : test) {
      const auto query_start = std::chrono::steady_clock::now();
      const std::vector<std::string> ranked = ranker->Rank(r->doc, 3);
      result.query_micros.push_back(MillisSince(query_start) * 1000.0);
      ++result.tested;
      const std::string& truth = label(*r);
      if (!ranked.empty() && ranked[0] == truth) ++result.top1;
      if (std::find(ranked.begin(), ranked.end(), truth) != ranked.end()) ++result.top3;
    }
  }
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int folds = absl::GetFlag(FLAGS_folds);
  if (folds < 2) {
    std::cerr << "thesis-classify-eval: --folds must be at least 2\n";
    return 2;
  }
  std::vector<Record> titles;
  std::vector<Record> dev;
  if (!LoadTitles(absl::GetFlag(FLAGS_train_titles), &titles) ||
      !LoadDev(absl::GetFlag(FLAGS_dev), &dev)) {
    return 1;
  }
  if (dev.size() < static_cast<size_t>(folds)) {
    std::cerr << "thesis-classify-eval: " << dev.size() << " dev records are fewer than " << folds
              << " folds\n";
    return 1;
  }

  TrainOptions options;
  options.seed = absl::GetFlag(FLAGS_seed);
  if (auto v = absl::GetFlag(FLAGS_epochs)) options.epochs = *v;
  if (auto v = absl::GetFlag(FLAGS_learning_rate)) options.learning_rate = *v;
  if (auto v = absl::GetFlag(FLAGS_l2)) options.l2 = *v;
  if (auto v = absl::GetFlag(FLAGS_title_weight)) options.title_weight = *v;
  if (auto v = absl::GetFlag(FLAGS_keyword_weight)) options.keyword_weight = *v;
  if (auto v = absl::GetFlag(FLAGS_abstract_weight)) options.abstract_weight = *v;
  if (auto v = absl::GetFlag(FLAGS_max_ngram)) options.max_ngram = *v;
  options.average = absl::GetFlag(FLAGS_average);
  if (auto v = absl::GetFlag(FLAGS_min_df)) options.min_document_frequency = *v;

  // Folds: a seeded shuffle of the dev records, dealt round-robin.
  std::vector<size_t> order(dev.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  uint64_t state = absl::GetFlag(FLAGS_seed);
  for (size_t i = order.size(); i > 1; --i) {
    std::swap(order[i - 1], order[SplitMix(&state) % i]);
  }
  std::vector<int> fold_of(dev.size());
  for (size_t i = 0; i < order.size(); ++i) fold_of[order[i]] = static_cast<int>(i % folds);

  std::printf("train titles: %zu, dev records: %zu, folds: %d, seed: %llu\n", titles.size(),
              dev.size(), folds, static_cast<unsigned long long>(options.seed));
  std::printf("%-12s %-22s %5s %6s %6s %7s %9s %13s %10s %9s\n", "scheme", "model", "folds",
              "top-1", "top-3", "tested", "features", "train ms/fold", "query µs", "p99 µs");
  struct Run {
    Model model;
    const char* name;
  };
  std::vector<Run> runs = {{Model::kSuggester, "tfidf-char1-3+logreg"}};
  if (absl::GetFlag(FLAGS_baselines)) {
    runs.push_back({Model::kNaiveBayes, "nb-char-bigram"});
    runs.push_back({Model::kComplementNaiveBayes, "cnb-char-bigram"});
  }
  for (bool categories : {true, false}) {
    for (const Run& run : runs) {
      Result r = Evaluate(run.model, categories, titles, dev, fold_of, folds, options);
      std::sort(r.query_micros.begin(), r.query_micros.end());
      double sum = 0;
      for (double q : r.query_micros) sum += q;
      const double mean = r.query_micros.empty() ? 0 : sum / r.query_micros.size();
      const double p99 =
          r.query_micros.empty()
              ? 0
              : r.query_micros[std::min(
                    r.query_micros.size() - 1,
                    static_cast<size_t>(std::ceil(0.99 * r.query_micros.size())) - 1)];
      std::printf("%-12s %-22s %5d %6.3f %6.3f %7d %9zu %13.0f %10.0f %9.0f\n",
                  categories ? "categories" : "disciplines", run.name, folds,
                  static_cast<double>(r.top1) / r.tested, static_cast<double>(r.top3) / r.tested,
                  r.tested, r.features, r.train_ms / folds, mean, p99);
      std::fflush(stdout);
    }
  }

  // Build time at the size the service must handle: 10,000 records, every
  // one with an abstract (the dev records repeated), 67 discipline labels.
  std::vector<Example> large;
  while (large.size() < 10000) {
    for (const Record& r : dev) {
      if (large.size() < 10000) large.push_back({r.doc, r.discipline});
    }
  }
  const auto start = std::chrono::steady_clock::now();
  const Suggester model = Suggester::Train(large, options);
  const double build_ms = MillisSince(start);
  std::printf("build: %zu full-text records, %zu labels, %zu features, %d epochs: %.0f ms\n",
              model.examples(), model.labels(), model.features(), model.epochs(), build_ms);
  return 0;
}
