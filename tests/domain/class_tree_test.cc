// SchemeTree (placing theses) and MergeTable (checking imported tables),
// without storage.
#include "server/domain/class_tree.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace thesis::domain::classes {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

std::vector<ImportRow> Rows(const std::vector<ClassRow>& rows) {
  std::vector<ImportRow> out;
  for (const ClassRow& r : rows) out.push_back({r, "t:" + std::to_string(out.size() + 1)});
  return out;
}

std::shared_ptr<const SchemeTree> ClcWith(const std::vector<ClassRow>& extra) {
  TableMerge merge = MergeTable(kClc, BuiltinRows(kClc), Rows(extra));
  EXPECT_EQ(merge.failed, 0);
  auto tree = SchemeTree::Build(kClc, merge.rows, 7);
  EXPECT_TRUE(tree.ok()) << tree.status();
  return *tree;
}

thesis::v1::Thesis WithCodes(std::vector<std::string> codes, std::string discipline = "") {
  thesis::v1::Thesis t;
  for (const auto& c : codes) t.add_classification_codes(c);
  t.set_discipline(discipline);
  return t;
}

TEST(SchemeTreeTest, PlacesEachClassOnceWithItsAncestors) {
  auto tree = ClcWith({{"D63", "D6", "国家行政管理"}, {"D630", "D63", "国家机关工作"}});
  EXPECT_EQ(tree->generation(), 7);
  // Two codes in one subtree count once there; the deeper one resolves up.
  Placement p = tree->Place(WithCodes({"D630.15", "D63"}));
  EXPECT_THAT(p.classes, ElementsAre(Pair("D", false), Pair("D6", false), Pair("D63", true),
                                     Pair("D630", true), Pair(kClassified, true)));
  EXPECT_THAT(tree->Place(WithCodes({})).classes, ElementsAre(Pair(kNone, true)));
  EXPECT_THAT(tree->Place(WithCodes({"L12"})).classes, ElementsAre(Pair(kUnresolved, true)));
  // Full-width and `;`-joined fields are split and normalized.
  EXPECT_THAT(tree->Place(WithCodes({"Ｄ６３０；L1"})).classes,
              ElementsAre(Pair("D", false), Pair("D6", false), Pair("D63", false),
                          Pair("D630", true), Pair(kClassified, true), Pair(kUnresolved, true)));
}

TEST(SchemeTreeTest, DisciplinesMatchByCodeNameOrLeadingCode) {
  auto tree = *SchemeTree::Build(kDiscipline, BuiltinRows(kDiscipline));
  // In the 2022 catalogue 1204 is 公共管理学; 公共管理 is the professional degree 1252.
  for (const char* d : {"1204", "公共管理学", "120401 行政管理", "１２０４"}) {
    Placement p = tree->Place(WithCodes({}, d));
    EXPECT_THAT(p.classes,
                ElementsAre(Pair("12", false), Pair("1204", true), Pair(kClassified, true)))
        << d;
  }
  EXPECT_THAT(tree->Place(WithCodes({}, "行政管理")).classes, ElementsAre(Pair(kUnresolved, true)));
  EXPECT_THAT(tree->Place(WithCodes({}, " ")).classes, ElementsAre(Pair(kNone, true)));
}

TEST(MergeTableTest, AlternativeAndPlainSpellingsOfOneClassAreOneClass) {
  // Found by fuzz_class_tables: `[X]` and `X` are one class to the table.
  TableMerge merge = MergeTable(
      kClc, BuiltinRows(kClc),
      Rows({{"D63", "D6", "国家行政管理"}, {"[D63]", "D6", "交替"}, {"D6.3", "D6", "点"}}));
  EXPECT_EQ(merge.created, 1);
  EXPECT_EQ(merge.failed, 2);
  ASSERT_EQ(merge.problems.size(), 2u);
  EXPECT_EQ(merge.problems[0].index, 1u);
  EXPECT_EQ(merge.problems[1].index, 2u);
  EXPECT_TRUE(SchemeTree::Build(kClc, merge.rows).ok());
}

TEST(MergeTableTest, CyclesAreBrokenAndReported) {
  TableMerge merge =
      MergeTable(kClc, BuiltinRows(kClc), Rows({{"X98", "X99", "甲"}, {"X99", "X98", "乙"}}));
  EXPECT_EQ(merge.created, 2);
  ASSERT_EQ(merge.problems.size(), 1u);
  EXPECT_TRUE(merge.problems[0].loaded);
  EXPECT_THAT(merge.problems[0].reason, ::testing::HasSubstr("cycle"));
  EXPECT_TRUE(SchemeTree::Build(kClc, merge.rows).ok());
}

TEST(MergeTableTest, ReimportingTheSameRowsChangesNothing) {
  const std::vector<ImportRow> rows =
      Rows({{"D63", "D6", "国家行政管理"}, {"Q959.195", "Q95", "</a>"}, {"X99", "X98", "孤儿"}});
  TableMerge first = MergeTable(kClc, BuiltinRows(kClc), rows);
  EXPECT_EQ(first.created, 3);
  TableMerge again = MergeTable(kClc, first.rows, rows);
  EXPECT_EQ(again.created, 0);
  EXPECT_EQ(again.updated, 0);
  EXPECT_EQ(again.unchanged, 3);
}

TEST(MergeTableTest, DisciplineCodesAreDigits) {
  TableMerge merge = MergeTable(kDiscipline, {},
                                Rows({{"12", "", "管理学"},
                                      {"1204", "12", "公共管理"},
                                      {"12x4", "12", "坏"},
                                      {"120", "12", "三位"}}));
  EXPECT_EQ(merge.created, 2);
  EXPECT_EQ(merge.failed, 2);
}

}  // namespace
}  // namespace thesis::domain::classes
