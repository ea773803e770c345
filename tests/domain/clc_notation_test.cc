// CLC notation: normalizing, splitting, parsing, and resolving against the
// real 5th-edition table (../shared/data/clc/clc5.tsv).
#include "server/domain/clc_notation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "server/domain/thesis_validation.h"
#include "tests/support/test_env.h"

namespace thesis::domain::clc {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;

std::string TablePath() { return thesis::testing::SharedDataDir() + "/clc/clc5.tsv"; }

// The real table, loaded once; nullopt when the shared data is absent.
const std::optional<std::string>& TableText() {
  static const auto* text = new std::optional<std::string>(thesis::testing::ReadFile(TablePath()));
  return *text;
}

const ClcTree* RealTree() {
  static const ClcTree* tree = []() -> const ClcTree* {
    if (!TableText()) return nullptr;
    absl::StatusOr<ClcTree> loaded = ClcTree::FromTsv(*TableText());
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return loaded.ok() ? new ClcTree(*std::move(loaded)) : nullptr;
  }();
  return tree;
}

#define SKIP_WITHOUT_TABLE() \
  if (!TableText()) GTEST_SKIP() << TablePath() << " is not there: CLC table tests skipped"

// The record validator agrees with the parse: it accepts a class, and both
// ends of a range (not always the range as written: it rejects `C829.3/.7`).
bool ValidatorAccepts(const ClcCode& code) {
  if (code.kind == ClcCode::Kind::kClass) return IsValidClassificationCode(code.code);
  return IsValidClassificationCode(code.range_start) && IsValidClassificationCode(code.range_end);
}

struct NormalizeCase {
  const char* raw;
  const char* normalized;
};

TEST(ClcNormalize, FullWidthCaseAndSpaces) {
  const NormalizeCase cases[] = {
      {"ＴＰ３１１．１３", "TP311.13"},
      {"tp311.13", "TP311.13"},
      {" TP 311 . 13 ", "TP311.13"},
      {"ｄ６３０", "D630"},
      {"Ｂ\u3000－４", "B-4"},              // ideographic space, full-width hyphen
      {"Ｂ\u00a080\u22120", "B80-0"},       // no-break space, minus sign
      {"［Ｂ０１９．１３］", "[B019.13]"},  // full-width brackets
      {"｛ｂ９１６｝", "{B916}"},
      {"Ｂ３１／３９", "B31/39"},
      {"Ｏ１５６．２＋１", "O156.2+1"},
      {"Ｋ２８\u201c３\u201d", "K28\"3\""},  // curly quotes
      {"Ｄ８２９（７１２）", "D829(712)"},
      {"", ""},
  };
  for (const NormalizeCase& c : cases) {
    EXPECT_EQ(NormalizeClc(c.raw), c.normalized) << c.raw;
  }
  // Not CLC characters are kept (and then rejected by ParseClc).
  EXPECT_EQ(NormalizeClc("中图"), "中图");
}

struct SplitCase {
  const char* field;
  std::vector<std::string> codes;
};

TEST(ClcSplit, Separators) {
  const SplitCase cases[] = {
      {"TP311.13;TP391", {"TP311.13", "TP391"}},
      {"D630；D035", {"D630", "D035"}},
      {"F832.5,F830", {"F832.5", "F830"}},
      {"F832.5，F830", {"F832.5", "F830"}},
      {" TP311.13 ; TP391 ; ", {"TP311.13", "TP391"}},
      {";;,", {}},
      {"", {}},
      // `/`: a range unless a new code starts after it.
      {"B31/39", {"B31/39"}},
      {"C829.3/.7", {"C829.3/.7"}},
      {"T-013/-017", {"T-013/-017"}},
      {"E292/294.9", {"E292/294.9"}},
      {"TP391/TP311", {"TP391", "TP311"}},
      {"TP391 / tp311", {"TP391", "TP311"}},
      {"TP391/[TP311]", {"TP391", "[TP311]"}},
      {"B31/39;B51/56", {"B31/39", "B51/56"}},
      {"[D664.1/.7]；{B916}", {"[D664.1/.7]", "{B916}"}},
      // Whitespace: between whole codes only.
      {"D630 D035", {"D630", "D035"}},
      {"TP 311.13", {"TP311.13"}},
      {"B-4 B80-0", {"B-4", "B80-0"}},
      {"D829(712) K28\"3\"", {"D829(712)", "K28\"3\""}},
      {"[B019.13] {B916}", {"[B019.13]", "{B916}"}},
      {"ＴＰ３１１．１３；ＴＰ３９１", {"TP311.13", "TP391"}},
  };
  for (const SplitCase& c : cases) {
    EXPECT_THAT(SplitCodes(c.field), ElementsAreArray(c.codes)) << c.field;
  }
}

TEST(ClcParse, PlainClass) {
  absl::StatusOr<ClcCode> code = ParseClc("ＴＰ３１１．１３");
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(code->normalized, "TP311.13");
  EXPECT_EQ(code->code, "TP311.13");
  EXPECT_EQ(code->kind, ClcCode::Kind::kClass);
  EXPECT_EQ(code->main_class, "TP");
  EXPECT_EQ(code->number, "311.13");
  EXPECT_FALSE(code->alternative || code->discontinued || code->has_plus ||
               code->has_general_subdivision);
  EXPECT_THAT(code->auxiliaries, IsEmpty());
  EXPECT_THAT(code->problems, IsEmpty());
}

struct FormCase {
  const char* raw;
  const char* code;
  ClcCode::Kind kind;
  bool alternative;
  bool discontinued;
  bool plus;
  bool subdivision;
  const char* range_start;
  const char* range_end;
};

// Each notation form, with codes of the 5th edition table.
TEST(ClcParse, NotationForms) {
  constexpr auto kClass = ClcCode::Kind::kClass;
  constexpr auto kRange = ClcCode::Kind::kRange;
  const FormCase cases[] = {
      {"D630", "D630", kClass, false, false, false, false, "", ""},
      {"D922.291.91", "D922.291.91", kClass, false, false, false, false, "", ""},
      {"B-4", "B-4", kClass, false, false, false, true, "", ""},
      {"B80-0", "B80-0", kClass, false, false, false, true, "", ""},
      {"O156.2+1", "O156.2+1", kClass, false, false, true, false, "", ""},
      {"Q959.212+.2", "Q959.212+.2", kClass, false, false, true, false, "", ""},
      {"TJ011.+1", "TJ011.+1", kClass, false, false, true, false, "", ""},
      {"S851.34+5.1-27", "S851.34+5.1-27", kClass, false, false, true, true, "", ""},
      {"[B019.13]", "B019.13", kClass, true, false, false, false, "", ""},
      {"{B916}", "B916", kClass, false, true, false, false, "", ""},
      {"B31/39", "B31/39", kRange, false, false, false, false, "B31", "B39"},
      {"B51/56", "B51/56", kRange, false, false, false, false, "B51", "B56"},
      {"C829.3/.7", "C829.3/.7", kRange, false, false, false, false, "C829.3", "C829.7"},
      {"E292/294.9", "E292/294.9", kRange, false, false, false, false, "E292", "E294.9"},
      {"T-013/-017", "T-013/-017", kRange, false, false, false, true, "T-013", "T-017"},
      {"S851.34+5.3/.7", "S851.34+5.3/.7", kRange, false, false, true, false, "S851.34+5.3",
       "S851.34+5.7"},
      {"[D664.1/.7]", "D664.1/.7", kRange, true, false, false, false, "D664.1", "D664.7"},
  };
  for (const FormCase& c : cases) {
    SCOPED_TRACE(c.raw);
    absl::StatusOr<ClcCode> code = ParseClc(c.raw);
    ASSERT_TRUE(code.ok()) << code.status();
    EXPECT_EQ(code->normalized, c.raw);
    EXPECT_EQ(code->code, c.code);
    EXPECT_EQ(code->kind, c.kind);
    EXPECT_EQ(code->alternative, c.alternative);
    EXPECT_EQ(code->discontinued, c.discontinued);
    EXPECT_EQ(code->has_plus, c.plus);
    EXPECT_EQ(code->has_general_subdivision, c.subdivision);
    EXPECT_EQ(code->range_start, c.range_start);
    EXPECT_EQ(code->range_end, c.range_end);
    EXPECT_THAT(code->problems, IsEmpty());
    EXPECT_TRUE(ValidatorAccepts(*code));
  }
}

TEST(ClcParse, AuxiliaryParts) {
  absl::StatusOr<ClcCode> code = ParseClc("D829(712)=6\"3\"<1>:TP391");
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(code->code, "D829");
  ASSERT_EQ(code->auxiliaries.size(), 5u);
  const std::vector<std::pair<ClcAuxiliary::Kind, std::string>> expected = {
      {ClcAuxiliary::Kind::kParentheses, "712"}, {ClcAuxiliary::Kind::kEquals, "6"},
      {ClcAuxiliary::Kind::kQuotes, "3"},        {ClcAuxiliary::Kind::kAngles, "1"},
      {ClcAuxiliary::Kind::kColon, "TP391"},
  };
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(code->auxiliaries[i].kind, expected[i].first) << i;
    EXPECT_EQ(code->auxiliaries[i].text, expected[i].second) << i;
  }

  code = ParseClc("[K28]\"3\"");  // alternative class with an auxiliary part
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_TRUE(code->alternative);
  EXPECT_EQ(code->code, "K28");
  ASSERT_EQ(code->auxiliaries.size(), 1u);
  EXPECT_EQ(code->auxiliaries[0].kind, ClcAuxiliary::Kind::kQuotes);
}

TEST(ClcParse, ProblemsKeepTheCode) {
  absl::StatusOr<ClcCode> code = ParseClc("[B019.13");
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_TRUE(code->alternative);
  EXPECT_EQ(code->code, "B019.13");
  EXPECT_THAT(code->problems, ElementsAre("missing ']'"));

  code = ParseClc("B39/31");
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(code->range_end, "B31");
  EXPECT_THAT(code->problems, ElementsAre("range end B31 is not after its start B39"));

  code = ParseClc("D829(712");
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_THAT(code->problems, ElementsAre("missing ')'"));
}

TEST(ClcParse, RejectsWhatIsNotClc) {
  for (const char* raw :
       {"", "  ", "中图", "abc", "ABC1", "31", "TP311..1", "TP311.", "B31/", "B31/B39", "B31/39/40",
        "B-4/5x", "B[31]", "D829()", "D829=", "(712)", "TP311#1", "B31/-9", "B-4/.1"}) {
    absl::StatusOr<ClcCode> code = ParseClc(raw);
    EXPECT_FALSE(code.ok()) << "\"" << raw << "\" parsed as " << code->code;
    if (!code.ok()) {
      EXPECT_EQ(code.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
}

TEST(ClcTable, EveryCodeOfTheRealTableParses) {
  SKIP_WITHOUT_TABLE();
  int rows = 0, ranges = 0, alternatives = 0, discontinued = 0, plus = 0, subdivisions = 0;
  for (absl::string_view line : absl::StrSplit(*TableText(), '\n')) {
    if (line.empty() || absl::StartsWith(line, "code\t")) continue;
    const std::string raw(line.substr(0, line.find('\t')));
    absl::StatusOr<ClcCode> code = ParseClc(raw);
    ASSERT_TRUE(code.ok()) << code.status();
    EXPECT_EQ(code->normalized, raw);
    EXPECT_THAT(code->problems, IsEmpty()) << raw;
    EXPECT_TRUE(ValidatorAccepts(*code)) << raw;
    ++rows;
    ranges += code->kind == ClcCode::Kind::kRange;
    alternatives += code->alternative;
    discontinued += code->discontinued;
    plus += code->has_plus;
    subdivisions += code->has_general_subdivision;
  }
  EXPECT_EQ(rows, 45785);
  // Every form occurs (counts are the table's, from grep).
  EXPECT_GT(ranges, 100);
  EXPECT_GT(alternatives, 1000);
  EXPECT_GT(discontinued, 200);
  EXPECT_GT(plus, 10000);
  EXPECT_GT(subdivisions, 500);

  const ClcTree* tree = RealTree();
  ASSERT_NE(tree, nullptr);
  EXPECT_EQ(tree->size(), 45785u);
  EXPECT_EQ(tree->duplicates(), 0);
  EXPECT_EQ(tree->orphans(), 0);
}

struct ResolveCase {
  const char* raw;
  ClcResolution::Status status;
  std::vector<std::string> chain;  // the whole chain, nearest first
};

// Each notation form resolved against the real table.
TEST(ClcResolve, RealTable) {
  SKIP_WITHOUT_TABLE();
  const ClcTree* tree = RealTree();
  ASSERT_NE(tree, nullptr);
  constexpr auto kExact = ClcResolution::Status::kExact;
  constexpr auto kAncestor = ClcResolution::Status::kAncestor;
  const ResolveCase cases[] = {
      // A class inside a range: its parent is the range.
      {"B516", kExact, {"B516", "B51/56", "B5", "B"}},
      // Not in the table, but inside a range of the table.
      {"B51", kAncestor, {"B51/56", "B5", "B"}},
      {"B33", kAncestor, {"B31/39", "B3", "B"}},
      {"C829.5", kAncestor, {"C829.3/.7", "C829", "C8", "C"}},
      {"E293.7", kAncestor, {"E292/294.9", "E291", "E29", "E2", "E"}},
      {"T-015", kAncestor, {"T-013/-017", "T-01", "T-0", "T"}},
      {"S851.34+5.4",
       kAncestor,
       {"S851.34+5.3/.7", "S851.34+5", "S851.34", "S851.3", "S851", "S85", "S8", "S"}},
      // Deeper than the table.
      {"TP311.13", kAncestor, {"TP311.1", "TP311", "TP31", "TP3", "TP", "T"}},
      {"ＴＰ３１１．１３", kAncestor, {"TP311.1", "TP311", "TP31", "TP3", "TP", "T"}},
      {"TP311.1", kExact, {"TP311.1", "TP311", "TP31", "TP3", "TP", "T"}},
      // General subdivisions.
      {"B-4", kExact, {"B-4", "B"}},
      {"B80-0", kExact, {"B80-0", "B80", "B"}},
      {"B80-09", kAncestor, {"B80-0", "B80", "B"}},
      // `+` notation, also written without its dot.
      {"O156.2+5", kAncestor, {"O156.2", "O156", "O15", "O1", "O"}},
      {"TJ011+1", kExact, {"TJ011.+1", "TJ011", "TJ01", "TJ0", "TJ", "T"}},
      // Ranges of the table and ranges inside them.
      {"B51/56", kExact, {"B51/56", "B5", "B"}},
      {"B52/55", kAncestor, {"B51/56", "B5", "B"}},
      // Auxiliary parts do not change the class.
      {"D829(712)", kExact, {"D829", "D82", "D8", "D"}},
      {"K28\"3\"", kExact, {"K28", "K2", "K"}},
  };
  for (const ResolveCase& c : cases) {
    SCOPED_TRACE(c.raw);
    absl::StatusOr<ClcResolution> resolved = tree->Resolve(c.raw);
    ASSERT_TRUE(resolved.ok()) << resolved.status();
    EXPECT_EQ(resolved->status, c.status);
    EXPECT_THAT(resolved->chain, ElementsAreArray(c.chain));
    EXPECT_FALSE(resolved->alternative);
    EXPECT_FALSE(resolved->discontinued);
  }
}

TEST(ClcResolve, PlusNotationDeeperThanTheTable) {
  SKIP_WITHOUT_TABLE();
  ASSERT_NE(RealTree(), nullptr);
  absl::StatusOr<ClcResolution> resolved = RealTree()->Resolve("Q959.212+.25");
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(resolved->status, ClcResolution::Status::kAncestor);
  ASSERT_GE(resolved->chain.size(), 3u);
  // The table makes Q959.212+.2 a child of Q959.212+.1; the chain follows it.
  EXPECT_THAT(std::vector<std::string>(resolved->chain.begin(), resolved->chain.begin() + 3),
              ElementsAre("Q959.212+.2", "Q959.212+.1", "Q959.212"));
  EXPECT_EQ(resolved->chain.back(), "Q");
}

TEST(ClcResolve, AlternativeAndDiscontinuedClasses) {
  SKIP_WITHOUT_TABLE();
  const ClcTree* tree = RealTree();
  ASSERT_NE(tree, nullptr);
  for (const char* raw : {"[B019.13]", "B019.13"}) {
    absl::StatusOr<ClcResolution> resolved = tree->Resolve(raw);
    ASSERT_TRUE(resolved.ok()) << resolved.status();
    EXPECT_EQ(resolved->status, ClcResolution::Status::kExact) << raw;
    EXPECT_TRUE(resolved->alternative) << raw;
    EXPECT_THAT(resolved->chain, ElementsAre("[B019.13]", "B019.1", "B01", "B0", "B")) << raw;
  }
  absl::StatusOr<ClcResolution> resolved = tree->Resolve("B916");
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(resolved->status, ClcResolution::Status::kExact);
  EXPECT_TRUE(resolved->discontinued);
  EXPECT_THAT(resolved->chain, ElementsAre("{B916}", "B91", "B9", "B"));

  // Inside an alternative range.
  resolved = tree->Resolve("D664.3");
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(resolved->status, ClcResolution::Status::kAncestor);
  EXPECT_TRUE(resolved->alternative);
  EXPECT_THAT(resolved->chain, ElementsAre("[D664.1/.7]", "[D664]", "D66", "D6", "D"));

  EXPECT_NE(tree->Find("ｂ０１９．１３"), nullptr);
  EXPECT_EQ(*tree->Find("B019.13"), "[B019.13]");
  EXPECT_EQ(*tree->Name("B516"), "德国哲学");
  EXPECT_EQ(tree->Find("TP311.13"), nullptr);
}

TEST(ClcResolve, UnresolvedIsKeptFlaggedAndCounted) {
  SKIP_WITHOUT_TABLE();
  const ClcTree* tree = RealTree();
  ASSERT_NE(tree, nullptr);
  // L is no CLC main class; TW is no subclass of T (letters are not cut).
  for (const char* raw : {"L12", "TW12", "L"}) {
    absl::StatusOr<ClcResolution> resolved = tree->Resolve(raw);
    ASSERT_TRUE(resolved.ok()) << resolved.status();
    EXPECT_EQ(resolved->status, ClcResolution::Status::kUnresolved) << raw;
    EXPECT_EQ(resolved->code, NormalizeClc(raw));
    EXPECT_THAT(resolved->chain, IsEmpty()) << raw;
  }

  ClcFieldResolution field = tree->ResolveField("TP311.13；B516, L12 /TW1;tp3#1;B31/39");
  ASSERT_EQ(field.entries.size(), 6u);
  EXPECT_EQ(field.exact, 2);       // B516, B31/39
  EXPECT_EQ(field.ancestor, 1);    // TP311.13
  EXPECT_EQ(field.unresolved, 2);  // L12, TW1
  EXPECT_EQ(field.invalid, 1);     // TP3#1
  EXPECT_EQ(field.entries[2].raw, "L12");
  EXPECT_EQ(field.entries[2].resolution.status, ClcResolution::Status::kUnresolved);
  EXPECT_EQ(field.entries[4].raw, "TP3#1");
  EXPECT_FALSE(field.entries[4].error.empty());
}

// The same rules on a small table of (code, parent) pairs.
TEST(ClcTree, FromEntries) {
  absl::StatusOr<ClcTree> tree = ClcTree::FromEntries({
      {"B", "", "哲学、宗教"},
      {"B5", "B", "欧洲哲学"},
      {"B51/56", "B5", "欧洲各国哲学"},
      {"B5", "B", "duplicate"},
      {"X1", "X", "orphan"},
  });
  ASSERT_TRUE(tree.ok()) << tree.status();
  EXPECT_EQ(tree->size(), 4u);
  EXPECT_EQ(tree->duplicates(), 1);
  EXPECT_EQ(tree->orphans(), 1);
  EXPECT_EQ(*tree->Name("B5"), "欧洲哲学");

  absl::StatusOr<ClcResolution> resolved = tree->Resolve("B516");
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(resolved->status, ClcResolution::Status::kAncestor);
  EXPECT_THAT(resolved->chain, ElementsAre("B51/56", "B5", "B"));

  resolved = tree->Resolve("B57");  // after the range: under B5 only
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_THAT(resolved->chain, ElementsAre("B5", "B"));

  resolved = tree->Resolve("B5-4");  // a subdivision of B5 is not in B51/56
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_THAT(resolved->chain, ElementsAre("B5", "B"));

  EXPECT_FALSE(ClcTree::FromEntries({{"B", "", ""}, {"B 3 1 /", "B", ""}}).ok());
  EXPECT_FALSE(ClcTree::FromEntries({{"A1", "A2", ""}, {"A2", "A1", ""}}).ok());
}

}  // namespace
}  // namespace thesis::domain::clc
