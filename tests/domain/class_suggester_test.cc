// The class suggester: toy classes it must separate, the contract of
// Suggest (order, top_k, empty answers), determinism, normalization, and, when
// the shared CSL data is present, a loose accuracy floor on real records.
#include "server/domain/class_suggester.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace thesis::domain::suggest {
namespace {

Document Title(std::string title) { return Document{std::move(title), "", {}}; }

// Three subjects in Chinese and one in English, with words that do not
// overlap between classes.
std::vector<Example> ToyExamples() {
  std::vector<Example> examples;
  const std::vector<std::pair<std::string, std::vector<std::string>>> classes = {
      {"D63",
       {"地方政府行政管理改革研究", "基层政府公共服务管理研究", "政府行政审批制度改革",
        "地方政府绩效管理研究", "公务员行政管理制度研究"}},
      {"TP311",
       {"基于深度学习的软件缺陷预测", "分布式数据库系统的设计与实现", "软件测试用例自动生成方法",
        "面向对象软件系统设计", "数据库查询优化算法研究"}},
      {"S5",
       {"水稻品种产量与栽培技术", "小麦种植密度对产量的影响", "玉米栽培施肥技术研究",
        "水稻病虫害综合防治技术", "小麦品种抗旱性栽培试验"}},
      {"R7",
       {"Clinical outcomes of patients with chronic kidney disease",
        "Randomized clinical trial of hypertension treatment in patients",
        "Patient survival after kidney transplantation",
        "Treatment of chronic heart failure patients: a clinical study",
        "Hospital outcomes of elderly patients with hypertension"}},
  };
  for (const auto& [label, titles] : classes) {
    for (const std::string& title : titles) examples.push_back({Title(title), label});
  }
  return examples;
}

TEST(ClassSuggesterTest, LearnsSeparableToyClasses) {
  const Suggester model = Suggester::Train(ToyExamples());
  EXPECT_EQ(model.examples(), 20u);
  EXPECT_EQ(model.labels(), 4u);

  const std::vector<std::pair<Document, std::string>> queries = {
      {Title("地方政府行政改革"), "D63"},
      {Title("软件系统数据库设计"), "TP311"},
      {Document{"", "本文研究了水稻和小麦的栽培技术与产量。", {"水稻", "栽培"}}, "S5"},
      {Title("Outcomes of clinical treatment for kidney patients"), "R7"},
  };
  for (const auto& [doc, expected] : queries) {
    const std::vector<Suggestion> got = model.Suggest(doc, 4);
    ASSERT_EQ(got.size(), 4u) << doc.title;
    EXPECT_EQ(got[0].label, expected) << doc.title << doc.abstract_text;
    EXPECT_GT(got[0].score, 0.5) << doc.title << doc.abstract_text;
  }
}

TEST(ClassSuggesterTest, ScoresDescendAndTopKIsHonoured) {
  const Suggester model = Suggester::Train(ToyExamples());
  const Document doc = Title("政府软件系统的水稻数据研究");
  const std::vector<Suggestion> all = model.Suggest(doc, 10);
  ASSERT_EQ(all.size(), 4u);  // never more than the labels
  double sum = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_GE(all[i].score, 0.0);
    EXPECT_LE(all[i].score, 1.0);
    sum += all[i].score;
    if (i > 0) {
      EXPECT_GE(all[i - 1].score, all[i].score);
      if (all[i - 1].score == all[i].score) {
        EXPECT_LT(all[i - 1].label, all[i].label);
      }
    }
  }
  EXPECT_NEAR(sum, 1.0, 1e-6);

  const std::vector<Suggestion> two = model.Suggest(doc, 2);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].label, all[0].label);
  EXPECT_EQ(two[1].label, all[1].label);
  EXPECT_TRUE(model.Suggest(doc, 0).empty());
  EXPECT_TRUE(model.Suggest(doc, -1).empty());
}

TEST(ClassSuggesterTest, EmptyInputAndUntrainedModelSuggestNothing) {
  const Suggester untrained;
  EXPECT_EQ(untrained.labels(), 0u);
  EXPECT_TRUE(untrained.Suggest(Title("地方政府行政管理"), 3).empty());

  const Suggester from_nothing = Suggester::Train({});
  EXPECT_EQ(from_nothing.examples(), 0u);
  EXPECT_TRUE(from_nothing.Suggest(Title("地方政府行政管理"), 3).empty());

  const Suggester model = Suggester::Train(ToyExamples());
  EXPECT_TRUE(model.Suggest(Document{}, 3).empty());
  EXPECT_TRUE(model.Suggest(Title("  ，。！ 1234 "), 3).empty());  // no feature at all
  EXPECT_TRUE(model.Suggest(Title("宇宙银河"), 3).empty());        // no known feature

  // Examples without a label are ignored.
  const Suggester unlabeled = Suggester::Train({{Title("地方政府行政管理"), ""}});
  EXPECT_EQ(unlabeled.examples(), 0u);
  EXPECT_TRUE(unlabeled.Suggest(Title("地方政府行政管理"), 3).empty());
}

TEST(ClassSuggesterTest, SingleLabelWorks) {
  const Suggester model =
      Suggester::Train({{Title("地方政府行政管理"), "D63"}, {Title("基层政府公共服务"), "D63"}});
  EXPECT_EQ(model.labels(), 1u);
  const std::vector<Suggestion> got = model.Suggest(Title("政府管理"), 3);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].label, "D63");
  EXPECT_DOUBLE_EQ(got[0].score, 1.0);

  // One record: every feature is kept (no frequency floor on tiny sets).
  const Suggester one = Suggester::Train({{Title("水稻栽培"), "S5"}});
  ASSERT_EQ(one.Suggest(Title("水稻"), 3).size(), 1u);
  EXPECT_EQ(one.Suggest(Title("水稻"), 3)[0].label, "S5");
}

TEST(ClassSuggesterTest, TrainingIsDeterministic) {
  const Suggester a = Suggester::Train(ToyExamples());
  const Suggester b = Suggester::Train(ToyExamples());
  EXPECT_EQ(a.features(), b.features());
  for (const char* title :
       {"政府软件系统的水稻数据研究", "clinical software", "地方政府", "小麦数据库"}) {
    const std::vector<Suggestion> x = a.Suggest(Title(title), 4);
    const std::vector<Suggestion> y = b.Suggest(Title(title), 4);
    ASSERT_EQ(x.size(), y.size()) << title;
    for (size_t i = 0; i < x.size(); ++i) {
      EXPECT_EQ(x[i].label, y[i].label) << title;
      EXPECT_EQ(x[i].score, y[i].score) << title;  // bit for bit
    }
  }
  // A different seed still learns the classes.
  TrainOptions options;
  options.seed = 99;
  EXPECT_EQ(Suggester::Train(ToyExamples(), options).Suggest(Title("水稻栽培"), 1)[0].label, "S5");
}

TEST(ClassSuggesterTest, ExampleWeightsScaleTheLoss) {
  // One title filed under two labels: the heavier example wins it.
  auto train = [](double a_weight, double b_weight) {
    std::vector<Example> examples = ToyExamples();
    examples.push_back({Title("水稻数据库管理"), "S5", a_weight});
    examples.push_back({Title("水稻数据库管理"), "TP311", b_weight});
    return Suggester::Train(examples);
  };
  EXPECT_EQ(train(1, 6).Suggest(Title("水稻数据库管理"), 1)[0].label, "TP311");
  EXPECT_EQ(train(6, 1).Suggest(Title("水稻数据库管理"), 1)[0].label, "S5");

  // Weight 1 is the default, bit for bit.
  std::vector<Example> explicit_ones = ToyExamples();
  for (Example& e : explicit_ones) e.weight = 1.0;
  const Suggester a = Suggester::Train(ToyExamples());
  const Suggester b = Suggester::Train(explicit_ones);
  const std::vector<Suggestion> x = a.Suggest(Title("政府软件系统的水稻数据研究"), 4);
  const std::vector<Suggestion> y = b.Suggest(Title("政府软件系统的水稻数据研究"), 4);
  ASSERT_EQ(x.size(), y.size());
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(x[i].label, y[i].label);
    EXPECT_EQ(x[i].score, y[i].score);
  }

  // Examples without a positive finite weight are ignored.
  std::vector<Example> ignored = ToyExamples();
  ignored.push_back({Title("宇宙银河"), "X", 0.0});
  ignored.push_back({Title("宇宙银河"), "Y", -1.0});
  ignored.push_back({Title("宇宙银河"), "Z", std::nan("")});
  ignored.push_back({Title("宇宙银河"), "W", std::numeric_limits<double>::infinity()});
  const Suggester skipped = Suggester::Train(ignored);
  EXPECT_EQ(skipped.examples(), 20u);
  EXPECT_EQ(skipped.labels(), 4u);
}

TEST(ClassSuggesterTest, FullWidthEqualsHalfWidth) {
  EXPECT_EQ(NormalizeText("ＣＬＩＮＩＣＡＬ　Ｔｒｉａｌ（２０２０）"), "clinical trial(2020)");
  EXPECT_EQ(NormalizeText("水稻ABC"), "水稻abc");

  const Suggester model = Suggester::Train(ToyExamples());
  const std::vector<Suggestion> half = model.Suggest(Title("Clinical kidney patients 2020"), 4);
  const std::vector<Suggestion> full =
      model.Suggest(Title("Ｃｌｉｎｉｃａｌ　ＫＩＤＮＥＹ　ｐａｔｉｅｎｔｓ　２０２０"), 4);
  ASSERT_EQ(half.size(), 4u);
  ASSERT_EQ(full.size(), half.size());
  for (size_t i = 0; i < half.size(); ++i) {
    EXPECT_EQ(full[i].label, half[i].label);
    EXPECT_EQ(full[i].score, half[i].score);
  }
  EXPECT_EQ(half[0].label, "R7");
}

TEST(ClassSuggesterTest, StemsLatinWords) {
  EXPECT_EQ(StemLatin("networks"), "network");
  EXPECT_EQ(StemLatin("studies"), "study");
  EXPECT_EQ(StemLatin("analysis"), "analysis");
  EXPECT_EQ(StemLatin("process"), "process");
  EXPECT_EQ(StemLatin("learning"), "learn");
  EXPECT_EQ(StemLatin("is"), "is");
}

TEST(ClassSuggesterTest, InvalidUtf8IsSkipped) {
  // Stray continuation bytes, a truncated sequence, an overlong form, a
  // surrogate, bytes that are never UTF-8.
  const std::string bad = "\x80\xBF水\xE6\xB0稻\xC0\xAF\xED\xA0\x80\xFF\xFE栽培";
  EXPECT_EQ(NormalizeText(bad), "水稻栽培");
  EXPECT_EQ(NormalizeText("\xF0\x9F"), "");

  const Suggester model = Suggester::Train(ToyExamples());
  const std::vector<Suggestion> clean = model.Suggest(Title("水稻栽培"), 2);
  const std::vector<Suggestion> dirty = model.Suggest(Document{bad, bad, {bad, "\xE6"}}, 2);
  ASSERT_FALSE(clean.empty());
  ASSERT_FALSE(dirty.empty());
  EXPECT_EQ(dirty[0].label, "S5");
  // Training on invalid bytes is safe too.
  std::vector<Example> examples = ToyExamples();
  examples.push_back({Document{"\xFF\xFE\xFD", "\xC3", {"\x80"}}, "X"});
  EXPECT_EQ(Suggester::Train(examples).labels(), 5u);
}

TEST(ClassSuggesterTest, ConcurrentQueriesAgree) {
  const Suggester model = Suggester::Train(ToyExamples());
  const Document doc = Title("政府软件系统的水稻数据研究");
  const std::vector<Suggestion> expected = model.Suggest(doc, 4);
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::vector<Suggestion> got = model.Suggest(doc, 4);
        if (got.size() != expected.size() || got[0].label != expected[0].label ||
            got[0].score != expected[0].score) {
          ++mismatches[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

// --- Real data: ../shared/data/csl (not part of the repository). ---

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream text;
  text << in.rdbuf();
  *out = text.str();
  return true;
}

// The value of a top-level string field of one dev line. The fields used
// here (title, category) hold plain UTF-8 in this file, without escapes.
std::string JsonString(absl::string_view line, absl::string_view key) {
  const std::string pattern = "\"" + std::string(key) + "\": \"";
  const size_t start = line.find(pattern);
  if (start == absl::string_view::npos) return "";
  const size_t begin = start + pattern.size();
  const size_t end = line.find('"', begin);
  return end == absl::string_view::npos ? "" : std::string(line.substr(begin, end - begin));
}

TEST(ClassSuggesterTest, CslTitlesReachTopThreeFloor) {
  const std::string dir = THESIS_SOURCE_DIR "/../shared/data/csl";
  std::string titles;
  std::string dev;
  if (!ReadFile(dir + "/csl-train-titles-8000.tsv", &titles) ||
      !ReadFile(dir + "/csl-dev-1000.jsonl", &dev)) {
    GTEST_SKIP() << "the shared data was absent: " << dir;
  }
  std::vector<Example> train;
  bool header = true;
  for (absl::string_view line : absl::StrSplit(titles, '\n', absl::SkipEmpty())) {
    if (header) {
      header = false;
      continue;
    }
    std::vector<std::string> parts = absl::StrSplit(line, '\t');
    if (parts.size() == 2) train.push_back({Title(parts[0]), parts[1]});
  }
  ASSERT_GE(train.size(), 7000u);
  const Suggester model = Suggester::Train(train);
  EXPECT_EQ(model.labels(), 13u);

  // Every third dev record, by title alone (what the model was trained on).
  int tested = 0;
  int top3 = 0;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(dev, '\n', absl::SkipEmpty())) {
    if (line_number++ % 3 != 0) continue;
    const std::string title = JsonString(line, "title");
    const std::string category = JsonString(line, "category");
    if (title.empty() || category.empty()) continue;
    ++tested;
    for (const Suggestion& s : model.Suggest(Title(title), 3)) {
      if (s.label == category) ++top3;
    }
  }
  ASSERT_GE(tested, 300);
  const double accuracy = static_cast<double>(top3) / tested;
  RecordProperty("top3", std::to_string(accuracy));
  EXPECT_GT(accuracy, 0.85) << top3 << " of " << tested;
}

}  // namespace
}  // namespace thesis::domain::suggest
