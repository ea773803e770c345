#include "server/domain/class_suggester.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

#include "server/common/utf8.h"

namespace thesis::domain::suggest {
namespace {

// Decodes UTF-8, dropping every byte that does not start a well-formed
// sequence (overlong forms, surrogates and values above U+10FFFF included),
// and applies the normalization of NormalizeText to each code point.
std::vector<char32_t> NormalizedCodePoints(absl::string_view text) {
  std::vector<char32_t> out;
  out.reserve(text.size());
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char b = p[i];
    char32_t c;
    size_t len;
    if (b < 0x80) {
      c = b;
      len = 1;
    } else if (b >= 0xC2 && b <= 0xDF) {
      c = b & 0x1F;
      len = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      c = b & 0x0F;
      len = 3;
    } else if (b >= 0xF0 && b <= 0xF4) {
      c = b & 0x07;
      len = 4;
    } else {
      ++i;  // a continuation byte or an invalid lead byte
      continue;
    }
    bool ok = i + len <= n;
    for (size_t j = 1; ok && j < len; ++j) {
      if ((p[i + j] & 0xC0) != 0x80) {
        ok = false;
      } else {
        c = (c << 6) | (p[i + j] & 0x3F);
      }
    }
    if (ok && ((len == 3 && (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))) ||
               (len == 4 && (c < 0x10000 || c > 0x10FFFF)))) {
      ok = false;
    }
    if (!ok) {
      ++i;  // skip the lead byte only: what follows may still be valid
      continue;
    }
    i += len;
    if (c >= 0xFF01 && c <= 0xFF5E) c -= 0xFEE0;  // full-width ASCII
    if (c == 0x3000) c = ' ';
    if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
    out.push_back(c);
  }
  return out;
}

bool IsHan(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x3134F);
}

// Letters and digits of Latin words: ASCII and the accented letters of
// Latin-1 Supplement and Latin Extended-A/B (without × and ÷).
bool IsWordChar(char32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         (c >= 0xC0 && c <= 0x24F && c != 0xD7 && c != 0xF7);
}

// Feature ids are hashes, not strings, so that a query needs no allocation
// per n-gram. FNV-1a with a final mix; 64 bits make collisions between the
// few hundred thousand features of a model negligible. Own code rather than
// absl::Hash, whose seed changes between processes: ids must be stable.
class FeatureHash {
 public:
  explicit FeatureHash(char kind) { Add(static_cast<unsigned char>(kind)); }
  void Add(uint64_t unit) {
    for (int i = 0; i < 4; ++i) {
      h_ ^= (unit >> (8 * i)) & 0xFF;
      h_ *= 0x100000001B3ULL;
    }
  }
  uint64_t Finish() const {
    uint64_t z = h_;  // splitmix64 finalizer
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

 private:
  uint64_t h_ = 0xCBF29CE484222325ULL;
};

// The feature ids of one field, one per occurrence.
void FieldFeatures(const std::vector<char32_t>& text, int max_ngram, std::vector<uint64_t>* out) {
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    if (IsHan(text[i])) {
      size_t end = i;
      while (end < n && IsHan(text[end])) ++end;
      for (size_t start = i; start < end; ++start) {
        FeatureHash hash('h');
        for (size_t len = 1; len <= static_cast<size_t>(max_ngram) && start + len <= end; ++len) {
          hash.Add(text[start + len - 1]);
          out->push_back(hash.Finish());
        }
      }
      i = end;
    } else if (IsWordChar(text[i])) {
      size_t end = i;
      bool has_letter = false;
      std::string word;
      while (end < n && IsWordChar(text[end])) {
        has_letter = has_letter || !(text[end] >= '0' && text[end] <= '9');
        AppendUtf8(text[end], &word);
        ++end;
      }
      // Bare numbers (years, sample sizes) say little about the subject,
      // and one-letter words are variables or articles.
      if (has_letter && end - i >= 2) {
        FeatureHash hash('w');
        for (char c : StemLatin(word)) hash.Add(static_cast<unsigned char>(c));
        out->push_back(hash.Finish());
      }
      i = end;
    } else {
      ++i;
    }
  }
}

struct Term {
  uint64_t id;
  double weight;
};

// One entry per distinct id of one field: 1 + ln count, sorted by id.
std::vector<Term> CountTerms(std::vector<uint64_t> ids) {
  std::vector<Term> terms;
  std::sort(ids.begin(), ids.end());
  for (size_t i = 0; i < ids.size();) {
    size_t j = i;
    while (j < ids.size() && ids[j] == ids[i]) ++j;
    terms.push_back({ids[i], 1.0 + std::log(static_cast<double>(j - i))});
    i = j;
  }
  return terms;
}

constexpr size_t kMinExamplesForFrequencyFloor = 100;

// The fewest epochs max_work may leave.
constexpr int kMinEpochs = 3;

// Gradients of a label's score below this are not applied (see Train).
constexpr double kNegligibleGradient = 1e-4;

enum Field { kTitle, kKeywords, kAbstract, kFields };
using FieldTerms = std::array<std::vector<Term>, kFields>;

FieldTerms DocumentTerms(const Document& doc, const TrainOptions& options) {
  const int max_ngram = std::clamp(options.max_ngram, 1, 4);
  FieldTerms fields;
  std::vector<uint64_t> ids;
  FieldFeatures(NormalizedCodePoints(doc.title), max_ngram, &ids);
  fields[kTitle] = CountTerms(std::move(ids));
  ids.clear();
  for (const std::string& keyword : doc.keywords) {
    const std::vector<char32_t> text = NormalizedCodePoints(keyword);
    FieldFeatures(text, max_ngram, &ids);
    // The whole keyword too: a multi-word term names a subject more
    // precisely than its n-grams do.
    FeatureHash whole('k');
    size_t kept = 0;
    for (char32_t c : text) {
      if (IsHan(c) || IsWordChar(c)) {
        whole.Add(c);
        ++kept;
      }
    }
    if (kept >= 2) ids.push_back(whole.Finish());
  }
  fields[kKeywords] = CountTerms(std::move(ids));
  ids.clear();
  FieldFeatures(NormalizedCodePoints(doc.abstract_text), max_ngram, &ids);
  fields[kAbstract] = CountTerms(std::move(ids));
  return fields;
}

// splitmix64: a tiny generator whose sequence is the same on every platform
// and standard library (std::shuffle's is not specified).
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n > 0 (the modulo bias is irrelevant for shuffling).
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }

 private:
  uint64_t state_;
};

// Softmax of `scores` in place, stable for large scores.
void Softmax(std::vector<double>* scores) {
  const double max = *std::max_element(scores->begin(), scores->end());
  double sum = 0;
  for (double& s : *scores) {
    s = std::exp(s - max);
    sum += s;
  }
  for (double& s : *scores) s /= sum;
}

}  // namespace

std::string NormalizeText(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : NormalizedCodePoints(text)) AppendUtf8(c, &out);
  return out;
}

std::string StemLatin(absl::string_view word) {
  std::string w(word);
  auto ends_with = [&w](absl::string_view suffix) {
    return w.size() > suffix.size() + 2 &&
           w.compare(w.size() - suffix.size(), suffix.size(), suffix.data(), suffix.size()) == 0;
  };
  auto strip = [&w](size_t n, absl::string_view add = "") {
    w.resize(w.size() - n);
    w.append(add.data(), add.size());
  };
  if (ends_with("ies")) {
    strip(3, "y");
  } else if (ends_with("sses")) {
    strip(2);
  } else if (ends_with("s") && !ends_with("ss") && !ends_with("us") && !ends_with("is")) {
    strip(1);
  }
  if (ends_with("ing")) {
    strip(3);
  } else if (ends_with("ed")) {
    strip(2);
  } else if (ends_with("ly")) {
    strip(2);
  }
  return w;
}

Suggester Suggester::Train(const std::vector<Example>& examples, const TrainOptions& options) {
  Suggester model;
  model.options_ = options;

  std::vector<const Example*> kept;
  for (const Example& example : examples) {
    if (!example.label.empty() && example.weight > 0 && std::isfinite(example.weight)) {
      kept.push_back(&example);
    }
  }
  model.examples_ = kept.size();
  if (kept.empty()) return model;

  for (const Example* example : kept) model.labels_.push_back(example->label);
  std::sort(model.labels_.begin(), model.labels_.end());
  model.labels_.erase(std::unique(model.labels_.begin(), model.labels_.end()), model.labels_.end());
  const size_t num_labels = model.labels_.size();
  std::vector<int> targets;
  targets.reserve(kept.size());
  for (const Example* example : kept) {
    targets.push_back(static_cast<int>(
        std::lower_bound(model.labels_.begin(), model.labels_.end(), example->label) -
        model.labels_.begin()));
  }

  // Vocabulary: document frequencies, then the kept features in id order
  // (not hash-map order, which differs between processes).
  absl::flat_hash_map<uint64_t, int> df;
  for (const Example* example : kept) {
    std::vector<uint64_t> ids;
    for (const std::vector<Term>& field : DocumentTerms(example->doc, options)) {
      for (const Term& term : field) ids.push_back(term.id);
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    for (uint64_t id : ids) ++df[id];
  }
  // A small scheme needs every feature it has (trained on one record, it
  // would have none left), so the frequency floor waits for enough records.
  const int min_df =
      kept.size() >= kMinExamplesForFrequencyFloor ? options.min_document_frequency : 1;
  std::vector<std::pair<uint64_t, int>> vocabulary;
  for (const auto& [id, count] : df) {
    if (count >= min_df) vocabulary.emplace_back(id, count);
  }
  if (options.max_features > 0 && vocabulary.size() > static_cast<size_t>(options.max_features)) {
    std::sort(vocabulary.begin(), vocabulary.end(), [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    vocabulary.resize(options.max_features);
  }
  std::sort(vocabulary.begin(), vocabulary.end());
  const double n = static_cast<double>(kept.size());
  model.idf_.reserve(vocabulary.size());
  model.columns_.reserve(vocabulary.size());
  for (size_t i = 0; i < vocabulary.size(); ++i) {
    model.columns_[vocabulary[i].first] = static_cast<int32_t>(i);
    // Smoothed idf (as scikit-learn): never zero, so a feature present in
    // every document still counts a little.
    model.idf_.push_back(static_cast<float>(std::log((1 + n) / (1 + vocabulary[i].second)) + 1));
  }
  df.clear();

  std::vector<SparseVector> vectors;
  vectors.reserve(kept.size());
  for (const Example* example : kept) vectors.push_back(model.Vectorize(example->doc));

  // SGD on the multinomial log loss with L2 regularization. The decay of
  // every weight at every step is folded into one scale factor (the stored
  // weights times `scale` are the real ones), so a step costs only the
  // document's features times the labels.
  const size_t num_features = model.idf_.size();
  model.weights_.assign(num_features * num_labels, 0.0f);
  model.bias_.assign(num_labels, 0.0f);
  std::vector<double> bias(num_labels, 0.0);
  std::vector<double> scores(num_labels);
  std::vector<float> accumulator(num_labels);
  std::vector<float> gradient(num_labels);
  std::vector<size_t> active;
  active.reserve(num_labels);
  double scale = 1.0;
  const double l2 = std::max(0.0, options.l2);
  const double eta0 = options.learning_rate > 0 ? options.learning_rate : 0.5;
  std::vector<size_t> order(vectors.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  Random random(options.seed);
  uint64_t step = 0;
  // The work of an epoch is about its features times the labels; on a
  // large set, fewer epochs are enough and keep the build within seconds.
  double work_per_epoch = 0;
  for (const SparseVector& x : vectors) work_per_epoch += static_cast<double>(x.index.size());
  work_per_epoch *= static_cast<double>(num_labels);
  int epochs = std::max(1, options.epochs);
  if (options.max_work > 0 && work_per_epoch * epochs > options.max_work) {
    epochs =
        std::max(std::min(epochs, kMinEpochs), static_cast<int>(options.max_work / work_per_epoch));
  }
  model.epochs_ = epochs;
  std::vector<double> average;
  std::vector<double> average_bias(num_labels, 0.0);
  int averaged = 0;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[random.Below(i)]);
    for (size_t index : order) {
      const SparseVector& x = vectors[index];
      const double eta = eta0 / (1.0 + eta0 * l2 * static_cast<double>(step++));
      const double weight = kept[index]->weight;
      // Float accumulation: twice the SIMD width of double, and the sum of
      // a few hundred products loses nothing the model can notice.
      std::fill(accumulator.begin(), accumulator.end(), 0.0f);
      for (size_t j = 0; j < x.index.size(); ++j) {
        const float* row = &model.weights_[static_cast<size_t>(x.index[j]) * num_labels];
        const float v = static_cast<float>(x.value[j] * scale);
        for (size_t k = 0; k < num_labels; ++k) accumulator[k] += v * row[k];
      }
      for (size_t k = 0; k < num_labels; ++k) scores[k] = bias[k] + accumulator[k];
      Softmax(&scores);
      scores[targets[index]] -= 1.0;         // now the gradient of the loss w.r.t. the scores
      for (double& g : scores) g *= weight;  // exact (a no-op) at weight 1
      scale *= 1.0 - eta * l2;
      if (scale < 1e-6) {
        for (float& w : model.weights_) w = static_cast<float>(w * scale);
        scale = 1.0;
      }
      // Once the model fits, most labels' gradients are negligible: with
      // many labels, updating only the others saves much of this loop.
      active.clear();
      for (size_t k = 0; k < num_labels; ++k) {
        bias[k] -= eta * scores[k];
        if (std::abs(scores[k]) >= kNegligibleGradient) active.push_back(k);
        gradient[k] = static_cast<float>(scores[k]);
      }
      for (size_t j = 0; j < x.index.size(); ++j) {
        float* row = &model.weights_[static_cast<size_t>(x.index[j]) * num_labels];
        const float step_size = static_cast<float>(eta * x.value[j] / scale);
        if (2 * active.size() > num_labels) {
          for (size_t k = 0; k < num_labels; ++k) row[k] -= step_size * gradient[k];
        } else {
          for (size_t k : active) row[k] -= step_size * gradient[k];
        }
      }
    }
    if (options.average && 2 * (epoch + 1) > epochs) {
      if (average.empty()) average.assign(model.weights_.size(), 0.0);
      for (size_t i = 0; i < average.size(); ++i) average[i] += model.weights_[i] * scale;
      for (size_t k = 0; k < num_labels; ++k) average_bias[k] += bias[k];
      ++averaged;
    }
  }
  if (averaged > 0) {
    for (size_t i = 0; i < average.size(); ++i) {
      model.weights_[i] = static_cast<float>(average[i] / averaged);
    }
    for (size_t k = 0; k < num_labels; ++k) bias[k] = average_bias[k] / averaged;
    scale = 1.0;
  }
  for (float& w : model.weights_) w = static_cast<float>(w * scale);
  for (size_t k = 0; k < num_labels; ++k) model.bias_[k] = static_cast<float>(bias[k]);

  return model;
}

Suggester::SparseVector Suggester::Vectorize(const Document& doc) const {
  const double field_weights[kFields] = {options_.title_weight, options_.keyword_weight,
                                         options_.abstract_weight};
  const FieldTerms fields = DocumentTerms(doc, options_);
  std::vector<std::pair<int32_t, double>> entries;
  for (int f = 0; f < kFields; ++f) {
    if (field_weights[f] <= 0) continue;
    for (const Term& term : fields[f]) {
      const auto it = columns_.find(term.id);
      if (it != columns_.end()) {
        entries.emplace_back(it->second, field_weights[f] * term.weight * idf_[it->second]);
      }
    }
  }
  // One entry per column, in column order, then L2-normalized: long and
  // short records (an abstract, a bare title) land on the same scale.
  std::sort(entries.begin(), entries.end());
  SparseVector out;
  double norm = 0;
  for (size_t i = 0; i < entries.size();) {
    double value = 0;
    size_t j = i;
    for (; j < entries.size() && entries[j].first == entries[i].first; ++j) {
      value += entries[j].second;
    }
    out.index.push_back(entries[i].first);
    out.value.push_back(static_cast<float>(value));
    norm += value * value;
    i = j;
  }
  if (norm > 0) {
    const double inverse = 1.0 / std::sqrt(norm);
    for (float& v : out.value) v = static_cast<float>(v * inverse);
  }
  return out;
}

std::vector<Suggestion> Suggester::Suggest(const Document& doc, int top_k) const {
  if (top_k <= 0 || labels_.empty()) return {};
  const SparseVector x = Vectorize(doc);
  if (x.index.empty()) return {};
  const size_t num_labels = labels_.size();
  std::vector<double> scores(bias_.begin(), bias_.end());
  for (size_t j = 0; j < x.index.size(); ++j) {
    const float* row = &weights_[static_cast<size_t>(x.index[j]) * num_labels];
    for (size_t k = 0; k < num_labels; ++k) scores[k] += static_cast<double>(x.value[j]) * row[k];
  }
  Softmax(&scores);
  std::vector<Suggestion> out;
  out.reserve(num_labels);
  for (size_t k = 0; k < num_labels; ++k) out.push_back({labels_[k], scores[k]});
  const size_t keep = std::min(num_labels, static_cast<size_t>(top_k));
  std::partial_sort(out.begin(), out.begin() + keep, out.end(),
                    [](const Suggestion& a, const Suggestion& b) {
                      return a.score != b.score ? a.score > b.score : a.label < b.label;
                    });
  out.resize(keep);
  return out;
}

}  // namespace thesis::domain::suggest
