// Tests of the classification table readers (thesis/formats/class_tables.h):
// every format from small inline samples, encodings and bad lines, and the
// real tables in ../shared/data/clc and ../shared/data/discipline (skipped
// when that directory is absent).
#include "thesis/formats/class_tables.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using thesis::formats::ClassTable;
using thesis::formats::ClassTableFormat;
using thesis::formats::ParseClassTable;
using thesis::v1::ClassRow;

const std::string kDataDir = THESIS_SOURCE_DIR "/../shared/data/";

// code|name|parent|origin per row: compact to compare.
std::vector<std::string> Rows(const ClassTable& table) {
  std::vector<std::string> out;
  for (const ClassRow& r : table.rows) {
    out.push_back(r.code() + "|" + r.display_name() + "|" + r.parent() + "|" + r.origin());
  }
  return out;
}

std::vector<std::string> ProblemOrigins(const ClassTable& table) {
  std::vector<std::string> out;
  for (const auto& p : table.problems) out.push_back(p.origin);
  return out;
}

// ---- Nested JSON ----

TEST(ClassTreeJsonTest, DepthFirstWithParentsAndPositions) {
  const std::string text =
      "[{\"code\":\"A\",\"name\":\"\\u9a6c\\u514b\\u601d\",\"children\":[\n"
      "  {\"code\":\"A1\",\"name\":\"著作\",\"children\":[{\"code\":\"A11\",\"name\":\"选集\","
      "\"children\":[]}]},\n"
      "  {\"name\":\"later code\",\"children\":[],\"code\":\"A2\",\"extra\":{\"x\":[1,2.5e3,null]}}"
      "]},\n"
      "{\"code\":\"B\",\"name\":\"哲学\"}]\n";
  ClassTable table = ParseClassTable(text, "t.json");
  EXPECT_EQ(table.format, ClassTableFormat::kJsonTree);
  EXPECT_THAT(table.problems, IsEmpty());
  EXPECT_THAT(Rows(table),
              ElementsAre("A|马克思||t.json:1:2", "A1|著作|A|t.json:2:3", "A11|选集|A1|t.json:2:40",
                          "A2|later code|A|t.json:3:3", "B|哲学||t.json:4:1"));
}

TEST(ClassTreeJsonTest, BomAndCrlf) {
  ClassTable table = ParseClassTable(
      "\xEF\xBB\xBF[\r\n {\"code\":\"A\",\"name\":\"甲\"},\r\n {\"code\":\"B\"}]\r\n", "crlf.json");
  EXPECT_THAT(table.problems, IsEmpty());
  EXPECT_THAT(Rows(table), ElementsAre("A|甲||crlf.json:2:2", "B|||crlf.json:3:2"));
}

TEST(ClassTreeJsonTest, BadNodesAreSkippedWithWhatIsBelowThem) {
  const std::string text =
      "[{\"code\":\"A\",\"name\":\"a\",\"children\":[\n"
      "{\"name\":\"no code\",\"children\":[{\"code\":\"X1\",\"name\":\"lost\"}]},\n"
      "{\"code\":7,\"name\":\"numeric code\"},\n"
      "\"not an object\",\n"
      "{\"code\":\"A3\",\"name\":\"kept\",\"children\":null}]}]";
  ClassTable table = ParseClassTable(text, "bad.json");
  EXPECT_THAT(Rows(table), ElementsAre("A|a||bad.json:1:2", "A3|kept|A|bad.json:5:1"));
  ASSERT_EQ(table.problems.size(), 3u);
  EXPECT_EQ(table.problems[0].origin, "bad.json:2:1");
  EXPECT_EQ(table.problems[0].line, 2);
  EXPECT_THAT(table.problems[0].reason, HasSubstr("without a code"));
  EXPECT_THAT(table.problems[0].reason, HasSubstr("1 node(s) below it"));
  EXPECT_EQ(table.problems[1].origin, "bad.json:3:1");
  EXPECT_THAT(table.problems[1].reason, HasSubstr("code is not a string"));
  EXPECT_EQ(table.problems[2].origin, "bad.json:4:1");
}

TEST(ClassTreeJsonTest, SyntaxErrorGivesNoRows) {
  ClassTable table =
      ParseClassTable("[{\"code\":\"A\",\"name\":\"a\"},\n{\"code\":\"B\" \"x\"}]", "broken.json");
  EXPECT_THAT(table.rows, IsEmpty());
  ASSERT_EQ(table.problems.size(), 1u);
  EXPECT_EQ(table.problems[0].origin, "broken.json:2:13");
  EXPECT_THAT(table.problems[0].reason, HasSubstr("JSON syntax error"));
}

TEST(ClassTreeJsonTest, HostileNestingIsRefusedNotRecursed) {
  std::string text;
  for (int i = 0; i < 100000; ++i) text += "[{\"code\":\"A\",\"children\":";
  ClassTable table = ParseClassTable(text, "deep.json");
  EXPECT_THAT(table.rows, IsEmpty());
  ASSERT_EQ(table.problems.size(), 1u);
  EXPECT_THAT(table.problems[0].reason, HasSubstr("nested more than"));
  std::string arrays(100000, '[');
  table = ParseClassTable(arrays, "arrays.json");
  EXPECT_THAT(table.rows, IsEmpty());
  EXPECT_EQ(table.problems.size(), 1u);
}

TEST(ClassTreeJsonTest, SurrogatePairsAndEscapes) {
  ClassTable table =
      ParseClassTable("[{\"code\":\"A\\/1\",\"name\":\"\\ud840\\udc00 \\\"q\\\"\"}]", "e.json");
  EXPECT_THAT(Rows(table), ElementsAre("A/1|\U00020000 \"q\"||e.json:1:2"));
}

// ---- TSV ----

TEST(ClassTsvTest, FlatTableWithBomAndCrlf) {
  const std::string text =
      "\xEF\xBB\xBF"
      "code\tname\tlevel\tparent\r\n"
      "A\t马克思主义\t1\t\r\n"
      "\r\n"
      "A1\t 马克思、恩格斯著作 \t2\tA\r\n";
  ClassTable table = ParseClassTable(text, "clc.tsv");
  EXPECT_EQ(table.format, ClassTableFormat::kFlatTsv);
  EXPECT_THAT(table.problems, IsEmpty());
  EXPECT_THAT(Rows(table),
              ElementsAre("A|马克思主义||clc.tsv:2", "A1|马克思、恩格斯著作|A|clc.tsv:4"));
}

TEST(ClassTsvTest, BadLinesAreReportedWithTheirLinesAndTheRestLoad) {
  const std::string text =
      "code\tname\tlevel\tparent\n"
      "A\ta\t1\t\n"
      "A1\tmissing parent cell\t2\n"
      "\ta nameless code\t2\tA\n"
      "A2\ttoo\tmany\tcells\there\n"
      "A3\tfine\t2\tA\n";
  ClassTable table = ParseClassTable(text, "bad.tsv");
  EXPECT_THAT(Rows(table), ElementsAre("A|a||bad.tsv:2", "A3|fine|A|bad.tsv:6"));
  EXPECT_THAT(ProblemOrigins(table), ElementsAre("bad.tsv:3", "bad.tsv:4", "bad.tsv:5"));
  EXPECT_EQ(table.problems[0].line, 3);
  EXPECT_THAT(table.problems[0].reason, HasSubstr("3 cell(s) where the header has 4"));
  EXPECT_THAT(table.problems[1].reason, HasSubstr("empty code"));
}

TEST(ClassTsvTest, CategoriesInGb18030) {
  // category_code/category_name with 哲学 and 管理学, GB18030-encoded.
  const std::string text =
      "category_code\tcategory_name\n01\t\xD5\xDC\xD1\xA7\n12\t\xB9\xDC\xC0\xED\xD1\xA7\n";
  ClassTable table = ParseClassTable(text, "cat.tsv");
  EXPECT_EQ(table.format, ClassTableFormat::kCategoryTsv);
  EXPECT_THAT(table.problems, IsEmpty());
  EXPECT_THAT(Rows(table), ElementsAre("01|哲学||cat.tsv:2", "12|管理学||cat.tsv:3"));
}

TEST(ClassTsvTest, DisciplinesGiveTheirCategoriesOnce) {
  const std::string text =
      "category_code\tcategory_name\tdiscipline_code\tdiscipline_name\tnote\n"
      "01\t哲学\t0101\t哲学\t\n"
      "02\t经济学\t0201\t理论经济学\n"  // the empty note cut off: still fine
      "02\t经济学\t0202\t应用经济学\t\n"
      "02\t经济\t0203\t另一个\t\n"
      "03\t法学\t\t空\t\n";
  ClassTable table = ParseClassTable(text, "d.tsv");
  EXPECT_EQ(table.format, ClassTableFormat::kDisciplineTsv);
  EXPECT_THAT(Rows(table), ElementsAre("01|哲学||d.tsv:2", "0101|哲学|01|d.tsv:2",
                                       "02|经济学||d.tsv:3", "0201|理论经济学|02|d.tsv:3",
                                       "0202|应用经济学|02|d.tsv:4", "0203|另一个|02|d.tsv:5"));
  EXPECT_THAT(ProblemOrigins(table), ElementsAre("d.tsv:5", "d.tsv:6"));
  EXPECT_THAT(table.problems[0].reason, HasSubstr("the first name is kept"));
  EXPECT_THAT(table.problems[1].reason, HasSubstr("empty code"));
}

TEST(ClassTsvTest, The2022LayoutWithCodeNameKind) {
  ClassTable table = ParseClassTable(
      "category_code\tcategory_name\tcode\tname\tkind\n01\t哲学\t0151\t应用伦理\tprofessional_"
      "degree\n",
      "k.tsv");
  EXPECT_EQ(table.format, ClassTableFormat::kDisciplineTsv);
  EXPECT_THAT(Rows(table), ElementsAre("01|哲学||k.tsv:2", "0151|应用伦理|01|k.tsv:2"));
}

TEST(ClassTableTest, UnknownAndEmptyFiles) {
  EXPECT_THAT(ParseClassTable("", "e.tsv").problems, IsEmpty());
  EXPECT_THAT(ParseClassTable("\n \n", "blank.tsv").problems, IsEmpty());
  ClassTable table = ParseClassTable("foo\tbar\n1\t2\n", "other.tsv");
  EXPECT_THAT(table.rows, IsEmpty());
  ASSERT_EQ(table.problems.size(), 1u);
  EXPECT_EQ(table.problems[0].origin, "other.tsv:1");
  EXPECT_THAT(table.problems[0].reason, HasSubstr("not a class table"));
  // Neither UTF-8 nor GB18030 (0xFF is never valid in either).
  table = ParseClassTable("code\tname\tparent\n\xFF\xFF\n", "binary.tsv");
  EXPECT_THAT(table.rows, IsEmpty());
  EXPECT_EQ(table.problems.size(), 1u);
}

// ---- The real tables ----

class SharedTablesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::is_directory(kDataDir + "clc") ||
        !std::filesystem::is_directory(kDataDir + "discipline")) {
      GTEST_SKIP() << "skipped because ../shared/data is absent (looked for " << kDataDir << ")";
    }
  }
  static ClassTable Load(const std::string& relative) {
    std::ifstream in(kDataDir + relative, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    return ParseClassTable(bytes.str(), relative);
  }
  static std::map<std::string, std::string> ParentOf(const ClassTable& table) {
    std::map<std::string, std::string> parents;
    for (const ClassRow& r : table.rows) parents.emplace(r.code(), r.parent());
    return parents;
  }
};

TEST_F(SharedTablesTest, ClcTsv) {
  ClassTable table = Load("clc/clc5.tsv");
  EXPECT_EQ(table.format, ClassTableFormat::kFlatTsv);
  EXPECT_THAT(table.problems, IsEmpty());
  EXPECT_EQ(table.rows.size(), 45785u);
  EXPECT_EQ(table.rows[0].origin(), "clc/clc5.tsv:2");
  const auto parents = ParentOf(table);
  EXPECT_EQ(parents.at("B516"), "B51/56");
  EXPECT_EQ(parents.at("TP311.1"), "TP311");
  EXPECT_EQ(parents.at("D630"), "D63");
  EXPECT_EQ(parents.at("A"), "");
}

TEST_F(SharedTablesTest, ClcJsonTree) {
  ClassTable table = Load("clc/clc5-tree.json");
  EXPECT_EQ(table.format, ClassTableFormat::kJsonTree);
  EXPECT_THAT(table.problems, IsEmpty());
  // 45,785 codes plus the 50 duplicated nodes, passed on for the service to
  // report.
  EXPECT_EQ(table.rows.size(), 45835u);
  const auto parents = ParentOf(table);
  EXPECT_EQ(parents.at("B516"), "B51/56");
  EXPECT_EQ(parents.at("TP311.1"), "TP311");
  EXPECT_EQ(parents.at("D630"), "D63");
  EXPECT_EQ(parents.at("D63"), "D6");
  EXPECT_EQ(parents.at("D6"), "D");
  // Depth-first: every parent comes before its children, and the file's
  // first node is the first row.
  EXPECT_EQ(table.rows[0].code(), "A");
  EXPECT_EQ(table.rows[0].origin(), "clc/clc5-tree.json:1:2");
  std::map<std::string, bool> seen;
  size_t before = 0;
  for (const ClassRow& r : table.rows) {
    if (r.parent().empty() || seen.count(r.parent()) > 0) ++before;
    seen[r.code()] = true;
  }
  EXPECT_EQ(before, table.rows.size());
  // The same tree as the flat table, which keeps each code's first node.
  const auto flat = ParentOf(Load("clc/clc5.tsv"));
  EXPECT_EQ(parents, flat);
}

TEST_F(SharedTablesTest, DisciplineCatalogues) {
  ClassTable categories = Load("discipline/xueke_categories_13_plus14.tsv");
  EXPECT_EQ(categories.format, ClassTableFormat::kCategoryTsv);
  EXPECT_THAT(categories.problems, IsEmpty());
  EXPECT_EQ(categories.rows.size(), 14u);

  ClassTable y2011 = Load("discipline/xueke_2011_rev2018_level1.tsv");
  EXPECT_EQ(y2011.format, ClassTableFormat::kDisciplineTsv);
  EXPECT_THAT(y2011.problems, IsEmpty());
  EXPECT_EQ(y2011.rows.size(), 14u + 113u);

  ClassTable y2022 = Load("discipline/xueke_2022_level1_and_professional.tsv");
  EXPECT_EQ(y2022.format, ClassTableFormat::kDisciplineTsv);
  EXPECT_THAT(y2022.problems, IsEmpty());
  EXPECT_EQ(y2022.rows.size(), 14u + 184u);
  const auto parents = ParentOf(y2022);
  EXPECT_EQ(parents.at("12"), "");
  EXPECT_EQ(parents.at("1204"), "12");
  EXPECT_EQ(parents.at("0151"), "01");
  size_t roots = 0;
  for (const ClassRow& r : y2022.rows) roots += r.parent().empty() ? 1 : 0;
  EXPECT_EQ(roots, 14u);
}

}  // namespace
