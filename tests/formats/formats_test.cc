// Tests of the CNKI format readers and writers (thesis_formats) on the real
// samples in ../shared/data/cnki (skipped when that directory is absent) and
// on generated files.
#include <errno.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <iconv.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "thesis/formats/cnki_formats.h"

namespace thesis::formats {
namespace {

using google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::StartsWith;
using thesis::v1::Thesis;

const std::string kDataDir = THESIS_SOURCE_DIR "/../shared/data/cnki/";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Data(const std::string& name) { return ReadFile(kDataDir + name); }

ParseResult ParseData(const std::string& name) { return ParseFile(Data(name), name); }

// UTF-8 -> GB18030 with glibc iconv, as a GBK/GB18030 export would be.
std::string ToGb18030(const std::string& utf8) {
  iconv_t cd = iconv_open("GB18030", "UTF-8");
  EXPECT_NE(cd, reinterpret_cast<iconv_t>(-1));
  std::string out(utf8.size() * 2 + 16, '\0');
  char* src = const_cast<char*>(utf8.data());
  size_t src_left = utf8.size();
  char* dst = out.data();
  size_t dst_left = out.size();
  const size_t rc = iconv(cd, &src, &src_left, &dst, &dst_left);
  EXPECT_NE(rc, static_cast<size_t>(-1)) << "errno " << errno;
  iconv_close(cd);
  out.resize(out.size() - dst_left);
  return out;
}

// UTF-8 BOM and CRLF line ends.
std::string ToBomCrlf(const std::string& utf8) {
  return absl::StrCat("\xEF\xBB\xBF", absl::StrReplaceAll(utf8, {{"\n", "\r\n"}}));
}

std::string Diff(const Thesis& a, const Thesis& b) {
  MessageDifferencer differencer;
  std::string report;
  differencer.ReportDifferencesToString(&report);
  differencer.Compare(a, b);
  return report;
}

void ExpectSameResult(const ParseResult& want, const ParseResult& got) {
  EXPECT_EQ(want.format, got.format);
  ASSERT_EQ(want.records.size(), got.records.size());
  for (size_t i = 0; i < want.records.size(); ++i) {
    EXPECT_EQ(want.records[i].line, got.records[i].line);
    EXPECT_TRUE(MessageDifferencer::Equals(want.records[i].thesis, got.records[i].thesis))
        << Diff(want.records[i].thesis, got.records[i].thesis);
  }
  ASSERT_EQ(want.problems.size(), got.problems.size());
  for (size_t i = 0; i < want.problems.size(); ++i) {
    EXPECT_EQ(want.problems[i].line, got.problems[i].line);
    EXPECT_EQ(want.problems[i].reason, got.problems[i].reason);
    EXPECT_EQ(want.problems[i].skipped, got.problems[i].skipped);
  }
}

// (line, type) of every skipped problem; fails on a malformed one.
std::vector<std::pair<int, std::string>> Skips(const ParseResult& result) {
  std::vector<std::pair<int, std::string>> out;
  for (const Problem& p : result.problems) {
    EXPECT_TRUE(p.skipped) << p.line << ": " << p.reason;
    const size_t open = p.reason.find('"');
    const size_t close = p.reason.rfind('"');
    out.emplace_back(p.line, open < close ? p.reason.substr(open + 1, close - open - 1) : "");
  }
  return out;
}

std::pair<int, std::string> P(int line, const char* type) { return {line, type}; }

class CnkiDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::is_directory(kDataDir)) {
      GTEST_SKIP() << "skipped because ../shared/data is absent (looked for " << kDataDir << ")";
    }
  }
};

// ---- The real samples, field by field ----

void ExpectPageThesis(const Thesis& t) {
  EXPECT_EQ(t.title_en(),
            "Study on Problems and Counter Plans in Gansu Provincial E-Government Building Rocess");
  EXPECT_EQ(t.title_zh(), "");
  EXPECT_THAT(t.authors(), ElementsAre("郑忠锋"));
  EXPECT_THAT(t.advisors(), ElementsAre("江正平"));
  EXPECT_EQ(t.institution(), "兰州大学");
  EXPECT_EQ(t.discipline(), "公共管理");
  EXPECT_EQ(t.degree_level(), thesis::v1::DEGREE_LEVEL_MASTER);
  EXPECT_EQ(t.degree_year(), 2009);
  EXPECT_THAT(t.abstract_zh(), StartsWith("随着信息时代和信息社会的到来,利用现代的信息"));
  EXPECT_THAT(t.abstract_en(), StartsWith("With the information age and the advent of"));
  EXPECT_EQ(t.online_publication().contributor(), "兰州大学");
  EXPECT_EQ(t.online_publication().year(), 2011);
  EXPECT_EQ(t.online_publication().issue(), "S1");
  EXPECT_THAT(t.classification_codes(), ElementsAre("D630"));
  ASSERT_TRUE(t.has_legacy_download_count());
  EXPECT_EQ(t.legacy_download_count(), 188);
  EXPECT_EQ(t.language(), "zh");
  EXPECT_FALSE(t.has_source());
}

TEST_F(CnkiDataTest, PageFormatThesis) {
  const ParseResult r = ParseData("page-format-thesis.txt");
  EXPECT_EQ(r.format, Format::kCnkiPage);
  EXPECT_THAT(r.problems, IsEmpty());
  ASSERT_THAT(r.records, SizeIs(1));
  EXPECT_EQ(r.records[0].line, 3);
  ExpectPageThesis(r.records[0].thesis);
}

TEST_F(CnkiDataTest, PageFormatMatchesSeedRecord) {
  Thesis seed;
  const std::string json = ReadFile(THESIS_SOURCE_DIR "/deploy/seed/sample-thesis.json");
  ASSERT_FALSE(json.empty());
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &seed).ok());
  const ParseResult r = ParseData("page-format-thesis.txt");
  ASSERT_THAT(r.records, SizeIs(1));
  EXPECT_TRUE(MessageDifferencer::Equals(seed, r.records[0].thesis))
      << Diff(seed, r.records[0].thesis);
}

void ExpectRefWorksCucumber(const Thesis& t) {
  EXPECT_EQ(t.title_zh(), "黄瓜共表达基因模块的识别及其特点分析");
  EXPECT_EQ(t.title_en(), "");
  EXPECT_THAT(t.authors(), ElementsAre("林行众"));  // "A1林行众": no space after the tag
  EXPECT_THAT(t.advisors(), ElementsAre("黄三文", "杨清"));
  EXPECT_EQ(t.institution(), "南京农业大学");
  EXPECT_EQ(t.degree_level(), thesis::v1::DEGREE_LEVEL_MASTER);
  EXPECT_EQ(t.degree_year(), 2015);
  EXPECT_THAT(t.keywords_zh(), ElementsAre("黄瓜", "共表达", "网络", "转录组"));
  EXPECT_THAT(t.keywords_en(), IsEmpty());
  // The AB text continues on two more lines; the breaks are export artefacts.
  EXPECT_THAT(t.abstract_zh(),
              StartsWith("黄瓜(Cucumis sativus L.)是我国最大的保护地栽培蔬菜作物,也是植物性别发育"
                         "和维管束运输研究的重要模式植物。黄瓜基因组序列图谱已经构建完成,"));
  EXPECT_THAT(t.abstract_zh(), ::testing::EndsWith("非常重要的研究基础和数据支持。"));
  EXPECT_EQ(t.abstract_zh().find('\n'), std::string::npos);
  EXPECT_EQ(t.abstract_en(), "");
  EXPECT_THAT(t.classification_codes(), IsEmpty());  // CL is the degree, not a class code
  EXPECT_EQ(t.source().database(), "CNKI");
  EXPECT_THAT(t.source().url(),
              StartsWith("https://kns.cnki.net/kcms2/article/abstract?v=-0THPtffOh067kQnOJah9"));
  EXPECT_THAT(t.source().url(), ::testing::EndsWith("&uniplatform=NZKPT&language=CHS"));
  EXPECT_EQ(t.language(), "zh");
  EXPECT_FALSE(t.has_legacy_download_count());
}

void ExpectRefWorksComposite(const Thesis& t) {
  EXPECT_EQ(t.title_zh(), "高导热聚合物基复合材料的制备与性能研究");
  EXPECT_THAT(t.authors(), ElementsAre("虞锦洪"));
  EXPECT_THAT(t.advisors(), ElementsAre("江平开"));
  EXPECT_EQ(t.institution(), "上海交通大学");
  EXPECT_EQ(t.degree_level(), thesis::v1::DEGREE_LEVEL_DOCTOR);
  EXPECT_EQ(t.degree_year(), 2012);
  EXPECT_THAT(t.keywords_zh(), ElementsAre("导热", "介电", "环氧树脂", "聚偏氟乙烯", "氧化铝",
                                           "石墨烯", "氮化硼", "复合材料"));
  EXPECT_THAT(t.abstract_zh(), StartsWith("随着微电子集成技术和组装技术的快速发展，电子元器件"));
  EXPECT_THAT(t.abstract_zh(), ::testing::EndsWith("制备了新型的高导热聚合物基复合材料。"));
  EXPECT_FALSE(t.has_source());  // this record has no LK/DS lines
  EXPECT_EQ(t.language(), "zh");
}

TEST_F(CnkiDataTest, RefWorksThesis) {
  const ParseResult r = ParseData("refworks-thesis.txt");
  EXPECT_EQ(r.format, Format::kRefWorks);
  EXPECT_THAT(r.problems, IsEmpty());
  ASSERT_THAT(r.records, SizeIs(2));
  EXPECT_EQ(r.records[0].line, 1);
  EXPECT_EQ(r.records[1].line, 18);
  ExpectRefWorksCucumber(r.records[0].thesis);
  ExpectRefWorksComposite(r.records[1].thesis);
}

TEST_F(CnkiDataTest, RefWorksMixed) {
  const ParseResult r = ParseData("refworks-mixed.txt");
  EXPECT_EQ(r.format, Format::kRefWorks);
  ASSERT_THAT(r.records, SizeIs(2));
  EXPECT_EQ(r.records[0].line, 51);
  EXPECT_EQ(r.records[1].line, 68);
  ExpectRefWorksCucumber(r.records[0].thesis);
  ExpectRefWorksComposite(r.records[1].thesis);
  // Same records as in refworks-thesis.txt.
  const ParseResult alone = ParseData("refworks-thesis.txt");
  ASSERT_THAT(alone.records, SizeIs(2));
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(MessageDifferencer::Equals(alone.records[i].thesis, r.records[i].thesis))
        << Diff(alone.records[i].thesis, r.records[i].thesis);
  }
  EXPECT_THAT(Skips(r), ElementsAre(P(1, "Journal Article"), P(18, "Journal Article"),
                                    P(35, "Journal Article"), P(80, "Conference Proceeding"),
                                    P(94, "Newspaper Article"), P(108, "Standard"),
                                    P(116, "Standard"), P(130, "Patent"), P(143, "Other Article")));
  for (const Problem& p : r.problems) EXPECT_EQ(p.file, "refworks-mixed.txt");
}

void ExpectEndNoteThesis(const Thesis& t) {
  EXPECT_EQ(t.title_zh(), "大粒车前子多糖体内外消化与酵解特征体系构建及其促进肠道健康的作用");
  EXPECT_THAT(t.authors(), ElementsAre("胡婕伦"));
  EXPECT_THAT(t.advisors(), ElementsAre("谢明勇", "聂少平"));
  EXPECT_EQ(t.institution(), "南昌大学");
  EXPECT_EQ(t.degree_level(), thesis::v1::DEGREE_LEVEL_DOCTOR);
  EXPECT_EQ(t.degree_year(), 2014);
  EXPECT_THAT(t.keywords_zh(), ElementsAre("大粒车前子", "多糖", "体内", "体外", "消化", "酵解",
                                           "肠道功能", "肠道菌群", "结肠炎"));
  EXPECT_THAT(t.abstract_zh(),
              StartsWith("车前子定义为车前（Plantago asiatica L.，又称大粒车前）"));
  // CNKI cut this abstract short in the export.
  EXPECT_THAT(t.abstract_zh(), ::testing::EndsWith("这些结果提示车前子多糖对大肠健康的..."));
  EXPECT_EQ(t.source().database(), "CNKI");
  EXPECT_THAT(t.source().url(), StartsWith("https://kns.cnki.net/kcms2/article/abstract?v=4j1cD"));
  EXPECT_EQ(t.language(), "zh");
}

TEST_F(CnkiDataTest, EndNoteThesis) {
  const ParseResult r = ParseData("endnote-thesis.txt");
  EXPECT_EQ(r.format, Format::kEndNote);
  EXPECT_THAT(r.problems, IsEmpty());
  ASSERT_THAT(r.records, SizeIs(1));
  EXPECT_EQ(r.records[0].line, 1);
  ExpectEndNoteThesis(r.records[0].thesis);
}

TEST_F(CnkiDataTest, EndNoteMixed) {
  const ParseResult r = ParseData("endnote-mixed.txt");
  EXPECT_EQ(r.format, Format::kEndNote);
  ASSERT_THAT(r.records, SizeIs(1));
  EXPECT_EQ(r.records[0].line, 19);
  ExpectEndNoteThesis(r.records[0].thesis);
  EXPECT_THAT(Skips(r), ElementsAre(P(1, "Journal Article"), P(31, "Conference Proceedings"),
                                    P(47, "Patent"), P(59, "Legal Rule or Regulation"),
                                    P(71, "Newspaper Article"), P(82, "Legal Rule or Regulation")));
}

TEST_F(CnkiDataTest, NoteExpressMixed) {
  const ParseResult r = ParseData("noteexpress-mixed.net");
  EXPECT_EQ(r.format, Format::kNoteExpress);
  ASSERT_THAT(r.records, SizeIs(2));

  const Thesis& a = r.records[0].thesis;
  EXPECT_EQ(r.records[0].line, 29);
  EXPECT_EQ(a.title_zh(), "云环境下铁路“门到门”货运产品设计优化方法研究");
  EXPECT_THAT(a.authors(), ElementsAre("殷玮川"));
  EXPECT_THAT(a.advisors(), ElementsAre("何世伟"));
  EXPECT_EQ(a.institution(), "北京交通大学");
  EXPECT_EQ(a.degree_level(), thesis::v1::DEGREE_LEVEL_DOCTOR);
  EXPECT_EQ(a.degree_year(), 2018);
  // CNKI doubles the separator (";;") in NoteExpress keywords.
  EXPECT_THAT(a.keywords_zh(),
              ElementsAre("铁路运输", "“门到门”货运产品", "产品设计", "服务网络优化", "云计算",
                          "大数据", "支持向量机", "IBM DOcplexcloud软件"));
  EXPECT_THAT(a.abstract_zh(), StartsWith("近年来,中国经济在新常态下发生的结构转型和调整变化"));
  EXPECT_EQ(a.source().database(), "CNKI");
  EXPECT_EQ(a.language(), "zh");

  const Thesis& b = r.records[1].thesis;
  EXPECT_EQ(r.records[1].line, 41);
  EXPECT_EQ(b.title_zh(), "我国铁路客运站建筑空间室内设计方法研究");
  EXPECT_THAT(b.authors(), ElementsAre("胡增辉"));
  EXPECT_THAT(b.advisors(), ElementsAre("孙伟"));
  EXPECT_EQ(b.institution(), "北京交通大学");
  EXPECT_EQ(b.degree_level(), thesis::v1::DEGREE_LEVEL_MASTER);
  EXPECT_EQ(b.degree_year(), 2018);
  EXPECT_THAT(b.keywords_zh(), ElementsAre("铁路客运站", "风格", "室内设计", "方法"));
  EXPECT_THAT(b.abstract_zh(), StartsWith("1881年,我国第一条铁路——唐山到胥各庄的唐胥铁路"));
  EXPECT_EQ(b.source().database(), "CNKI");

  EXPECT_THAT(Skips(r),
              ElementsAre(P(1, "Journal Article"), P(14, "Journal Article"),
                          P(53, "Conference Proceedings"), P(68, "Newspaper Article"),
                          P(79, "Book"), P(88, "Standard"), P(95, "Standard"), P(102, "Patent"),
                          P(115, "Standard"), P(127, "Standard"), P(136, "Journal Article"),
                          P(151, "Journal Article"), P(164, "Journal Article")));
}

const char* const kFixtures[] = {"page-format-thesis.txt", "refworks-thesis.txt",
                                 "refworks-mixed.txt",     "endnote-thesis.txt",
                                 "endnote-mixed.txt",      "noteexpress-mixed.net"};

TEST_F(CnkiDataTest, Gb18030AndBomCrlfCopiesParseIdentically) {
  for (const char* name : kFixtures) {
    SCOPED_TRACE(name);
    const std::string utf8 = Data(name);
    const ParseResult want = ParseFile(utf8, name);
    ASSERT_FALSE(want.records.empty());

    const std::string gb = ToGb18030(utf8);
    ASSERT_NE(gb, utf8);
    auto decoded = DecodeToUtf8(gb);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, utf8);
    ExpectSameResult(want, ParseFile(gb, name));

    const std::string bom_crlf = ToBomCrlf(utf8);
    decoded = DecodeToUtf8(bom_crlf);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, utf8);
    ExpectSameResult(want, ParseFile(bom_crlf, name));

    // GBK exports with CRLF too.
    ExpectSameResult(want, ParseFile(absl::StrReplaceAll(gb, {{"\n", "\r\n"}}), name));
  }
}

TEST_F(CnkiDataTest, DetectFormatFromContent) {
  EXPECT_EQ(DetectFormat(Data("page-format-thesis.txt")), Format::kCnkiPage);
  EXPECT_EQ(DetectFormat(Data("refworks-thesis.txt")), Format::kRefWorks);
  EXPECT_EQ(DetectFormat(Data("refworks-mixed.txt")), Format::kRefWorks);
  EXPECT_EQ(DetectFormat(Data("endnote-thesis.txt")), Format::kEndNote);
  EXPECT_EQ(DetectFormat(Data("endnote-mixed.txt")), Format::kEndNote);
  EXPECT_EQ(DetectFormat(Data("noteexpress-mixed.net")), Format::kNoteExpress);
}

// All thesis records of all samples.
std::vector<Thesis> AllSampleTheses() {
  std::vector<Thesis> out;
  for (const char* name : kFixtures) {
    for (const Record& r : ParseData(name).records) out.push_back(r.thesis);
  }
  return out;
}

// ---- Generated records ----

// Every field the formats know, and the output-only ones.
Thesis FullThesis() {
  Thesis t;
  t.set_name("theses/full-1");
  t.set_title_zh("高导热聚合物基复合材料的制备与性能研究");
  t.set_title_en("Preparation and Properties of Thermally Conductive Polymer Composites");
  t.add_authors("虞锦洪");
  t.add_authors("张三");
  t.add_advisors("江平开");
  t.set_institution("上海交通大学");
  t.set_discipline("材料学");
  t.set_degree_level(thesis::v1::DEGREE_LEVEL_PROFESSIONAL_MASTER);
  t.set_degree_year(2012);
  t.set_abstract_zh("随着微电子集成技术的快速发展，“电子元器件”的体积越来越小。");
  t.set_abstract_en("With the \"rapid\" development of microelectronics, devices shrink.");
  t.add_keywords_zh("导热");
  t.add_keywords_zh("介电");
  t.add_keywords_en("thermal conductivity");
  t.add_keywords_en("dielectric");
  t.mutable_online_publication()->set_contributor("上海交通大学");
  t.mutable_online_publication()->set_year(2013);
  t.mutable_online_publication()->set_issue("S1");
  t.add_classification_codes("TP311.13");
  t.add_classification_codes("TB332");
  t.mutable_source()->set_database("CDFD");
  t.mutable_source()->set_record_id("1012345678.nh");
  t.mutable_source()->set_url("https://kns.cnki.net/kcms2/article/abstract?v=x&language=CHS");
  t.set_language("zh");
  t.set_legacy_download_count(1234);
  t.mutable_create_time()->set_seconds(1700000000);
  t.mutable_create_time()->set_nanos(123000000);
  t.mutable_update_time()->set_seconds(1700000500);
  t.set_etag("W/\"7\"");
  return t;
}

Thesis EnglishThesis() {
  Thesis t;
  t.set_title_en("A Study of Railway Freight");
  t.add_authors("John Smith");
  t.add_authors("Li Wei");
  t.add_advisors("Jane Doe");
  t.set_institution("Beijing Jiaotong University");
  t.set_degree_level(thesis::v1::DEGREE_LEVEL_DOCTOR);
  t.set_degree_year(2019);
  t.set_abstract_en("This thesis studies freight.");
  // One item with a comma: the writer must keep it one keyword.
  t.add_keywords_en("railway, freight");
  t.set_language("en");
  return t;
}

TEST(JsonLinesTest, RoundTripIsLossless) {
  std::vector<Thesis> theses = {FullThesis(), EnglishThesis()};
  if (std::filesystem::is_directory(kDataDir)) {
    for (Thesis& t : AllSampleTheses()) theses.push_back(std::move(t));
  }
  const std::string jsonl = WriteJsonLines(theses);
  EXPECT_EQ(DetectFormat(jsonl), Format::kJsonLines);
  // One line per record, and the output is UTF-8 (Chinese not escaped away).
  EXPECT_EQ(std::count(jsonl.begin(), jsonl.end(), '\n'), static_cast<long>(theses.size()));
  EXPECT_THAT(jsonl, HasSubstr("高导热聚合物基复合材料"));
  EXPECT_THAT(jsonl, HasSubstr("\"etag\":\"W/\\\"7\\\"\""));

  const ParseResult r = ParseFile(jsonl, "out.jsonl");
  EXPECT_EQ(r.format, Format::kJsonLines);
  EXPECT_THAT(r.problems, IsEmpty());
  ASSERT_EQ(r.records.size(), theses.size());
  for (size_t i = 0; i < theses.size(); ++i) {
    EXPECT_EQ(r.records[i].line, static_cast<int>(i) + 1);
    EXPECT_TRUE(MessageDifferencer::Equals(theses[i], r.records[i].thesis))
        << Diff(theses[i], r.records[i].thesis);
  }
}

TEST(JsonLinesTest, BlankLinesSkippedAndBadLinesReported) {
  const std::string line = WriteJsonLines({FullThesis()});
  const std::string text =
      absl::StrCat("\n", line, "   \n", "{\"titleZh\": \"x\", \"bogus\": 1}\n", "not json\n", line);
  const ParseResult r = ParseJsonLines(text, "f.jsonl");
  ASSERT_THAT(r.records, SizeIs(2));
  EXPECT_EQ(r.records[0].line, 2);
  EXPECT_EQ(r.records[1].line, 6);
  ASSERT_THAT(r.problems, SizeIs(2));
  EXPECT_EQ(r.problems[0].line, 4);
  EXPECT_FALSE(r.problems[0].skipped);
  EXPECT_EQ(r.problems[1].line, 5);
  EXPECT_EQ(r.problems[1].file, "f.jsonl");
}

TEST(JsonLinesTest, InvalidUtf8IsWrittenAsReplacementCharacter) {
  Thesis t = EnglishThesis();
  t.set_title_en("bad \xFF title");
  const std::string jsonl = WriteJsonLines({t});
  const ParseResult r = ParseJsonLines(jsonl, "f");
  ASSERT_THAT(r.records, SizeIs(1));
  EXPECT_EQ(r.records[0].thesis.title_en(), "bad \uFFFD title");
}

// The fields RefWorks cannot carry.
void IgnoreNonRefWorksFields(MessageDifferencer* d) {
  const auto* desc = Thesis::descriptor();
  for (const char* name : {"name", "discipline", "online_publication", "classification_codes",
                           "legacy_download_count", "create_time", "update_time", "etag"}) {
    d->IgnoreField(desc->FindFieldByName(name));
  }
}

TEST(RefWorksWriterTest, ReadsBackTheFieldsItCarries) {
  std::vector<Thesis> theses = {FullThesis(), EnglishThesis()};
  if (std::filesystem::is_directory(kDataDir)) {
    for (Thesis& t : AllSampleTheses()) theses.push_back(std::move(t));
  }
  const std::string text = WriteRefWorks(theses);
  EXPECT_THAT(text, StartsWith("RT Dissertation/Thesis\nA1 虞锦洪;张三\nA3 江平开\n"));
  EXPECT_THAT(text, HasSubstr("\nCL 专业硕士\n"));
  EXPECT_THAT(text, HasSubstr("\n\nRT Dissertation/Thesis\n"));
  const ParseResult r = ParseFile(text, "out.txt");
  EXPECT_EQ(r.format, Format::kRefWorks);
  EXPECT_THAT(r.problems, IsEmpty());
  ASSERT_EQ(r.records.size(), theses.size());
  for (size_t i = 0; i < theses.size(); ++i) {
    MessageDifferencer d;
    IgnoreNonRefWorksFields(&d);
    std::string report;
    d.ReportDifferencesToString(&report);
    EXPECT_TRUE(d.Compare(theses[i], r.records[i].thesis)) << i << ": " << report;
  }
  // Explicitly, for the full record.
  const Thesis& full = r.records[0].thesis;
  EXPECT_EQ(full.title_en(), FullThesis().title_en());
  EXPECT_THAT(full.keywords_en(), ElementsAre("thermal conductivity", "dielectric"));
  EXPECT_EQ(full.source().record_id(), "1012345678.nh");
  EXPECT_EQ(full.degree_level(), thesis::v1::DEGREE_LEVEL_PROFESSIONAL_MASTER);
}

// ---- One broken record among many ----

struct Generated {
  std::string text;
  std::vector<int> first_lines;  // first line of each record
};

// `count` records made by `make(i)`, each ending in '\n', separated by a
// blank line.
Generated Generate(int count, const std::function<std::string(int)>& make) {
  Generated g;
  int line = 1;
  for (int i = 0; i < count; ++i) {
    if (i > 0) {
      g.text += "\n";
      ++line;
    }
    const std::string rec = make(i);
    g.first_lines.push_back(line);
    g.text += rec;
    line += static_cast<int>(std::count(rec.begin(), rec.end(), '\n'));
  }
  return g;
}

constexpr int kCount = 50;
constexpr int kBroken = 24;

// Checks that all records but kBroken parse, in order, and that the only
// problem is a malformed one at the broken record's first line.
void ExpectOneBroken(const Generated& g, const ParseResult& r, Format format,
                     const std::string& reason_part) {
  EXPECT_EQ(r.format, format);
  ASSERT_THAT(r.problems, SizeIs(1));
  EXPECT_EQ(r.problems[0].line, g.first_lines[kBroken]);
  EXPECT_FALSE(r.problems[0].skipped);
  EXPECT_EQ(r.problems[0].file, "many");
  EXPECT_THAT(r.problems[0].reason, HasSubstr(reason_part));
  ASSERT_THAT(r.records, SizeIs(kCount - 1));
  for (int i = 0, k = 0; i < kCount; ++i) {
    if (i == kBroken) continue;
    const Record& rec = r.records[k++];
    EXPECT_EQ(rec.line, g.first_lines[i]);
    EXPECT_EQ(rec.thesis.title_zh(), absl::StrCat("论文题目", i));
    EXPECT_THAT(rec.thesis.authors(), ElementsAre(absl::StrCat("作者", i)));
    EXPECT_EQ(rec.thesis.degree_year(), 2000 + i % 20);
  }
}

std::string RefWorksRecord(int i) {
  return absl::StrCat("RT Dissertation/Thesis\nSR 1\nA1作者", i,
                      "\nA3 导师甲;导师乙\nPB 兰州大学\n", "T1 论文题目", i, "\nCL 硕士\nYR ",
                      2000 + i % 20, "\nK1 关键词;测试;\nAB 摘要第", i, "篇\n,续行\nDS CNKI\n");
}

TEST(BrokenRecordTest, RefWorksRecordWithoutTitle) {
  const Generated g = Generate(kCount, [](int i) {
    std::string rec = RefWorksRecord(i);
    if (i == kBroken) rec = absl::StrReplaceAll(rec, {{absl::StrCat("T1 论文题目", i, "\n"), ""}});
    return rec;
  });
  ExpectOneBroken(g, ParseFile(g.text, "many"), Format::kRefWorks, "title is required");
}

TEST(BrokenRecordTest, RefWorksTaglessGarbageBlock) {
  const Generated g = Generate(kCount, [](int i) {
    return i == kBroken ? std::string("this is not a record\nA1 nor is this\n") : RefWorksRecord(i);
  });
  ExpectOneBroken(g, ParseFile(g.text, "many"), Format::kRefWorks, "outside a record");
}

TEST(BrokenRecordTest, EndNoteRecordWithBadYear) {
  const Generated g = Generate(kCount, [](int i) {
    return absl::StrCat("%0 Thesis\n%A 作者", i, "\n%T 论文题目", i,
                        "\n%Y 导师\n%J 南昌大学\n%9 博士\n%D ",
                        i == kBroken ? std::string("20x4") : absl::StrCat(2000 + i % 20),
                        "\n%K 多糖;消化\n%X 摘要\n%W CNKI\n");
  });
  ExpectOneBroken(g, ParseFile(g.text, "many"), Format::kEndNote, "is not a year");
}

TEST(BrokenRecordTest, NoteExpressRecordWithoutAuthor) {
  const Generated g = Generate(kCount, [](int i) {
    return absl::StrCat(
        "{Reference Type}: Thesis\n{Title}: 论文题目", i, "\n",
        i == kBroken ? std::string() : absl::StrCat("{Author}: 作者", i, "\n"),
        "{Tertiary Author}: 何世伟\n{Publisher}: 北京交通大学\n{Type of Work}: 博士\n",
        "{Year}: ", 2000 + i % 20, "\n{Keywords}: 铁路;;产品\n\n");
  });
  ExpectOneBroken(g, ParseFile(g.text, "many"), Format::kNoteExpress, "at least one author");
}

TEST(BrokenRecordTest, CnkiPageRecordWithBadDownloadCount) {
  const Generated g = Generate(kCount, [](int i) {
    return absl::StrCat("论文题目", i, "\n\n【作者】 作者", i, "\n\n【导师】 江正平;\n\n",
                        "【作者基本信息】 兰州大学 , 公共管理, ", 2000 + i % 20, ", 硕士\n\n",
                        "【摘要】 摘要。\n第二段。\n\n  • 【下载频次】",
                        i == kBroken ? std::string("很多") : std::string("188"), "\n");
  });
  ExpectOneBroken(g, ParseFile(g.text, "many"), Format::kCnkiPage, "下载频次");
}

TEST(BrokenRecordTest, JsonLinesBadLine) {
  std::string text;
  std::vector<int> lines;
  for (int i = 0; i < kCount; ++i) {
    lines.push_back(i + 1);
    if (i == kBroken) {
      text += "{\"titleZh\": \"unterminated\n";
      continue;
    }
    Thesis t;
    t.set_title_zh(absl::StrCat("论文题目", i));
    t.add_authors(absl::StrCat("作者", i));
    t.set_degree_year(2000 + i % 20);
    text += WriteJsonLines({t});
  }
  ExpectOneBroken(Generated{text, lines}, ParseFile(text, "many"), Format::kJsonLines, "JSON");
}

// ---- Smaller behaviours ----

TEST(DecodeTest, BomLineEndsAndEncodings) {
  EXPECT_EQ(*DecodeToUtf8("\xEF\xBB\xBF"
                          "a\r\nb\rc\n"),
            "a\nb\nc\n");
  EXPECT_EQ(*DecodeToUtf8(""), "");
  // Traditional characters are kept as written, in UTF-8 and in GB18030.
  EXPECT_EQ(*DecodeToUtf8("學位論文"), "學位論文");
  EXPECT_EQ(*DecodeToUtf8(ToGb18030("學位論文 学位论文")), "學位論文 学位论文");
  // UTF-16 with a BOM.
  EXPECT_EQ(*DecodeToUtf8(std::string("\xFF\xFE"
                                      "A\0\x2D\x4E",
                                      6)),
            "A中");
  // Neither UTF-8 nor GB18030.
  const auto bad = DecodeToUtf8("RT \xFF\xFF\xFF");
  EXPECT_FALSE(bad.ok());
  const ParseResult r = ParseFile("RT \xFF\xFF\xFF", "bad.txt");
  ASSERT_THAT(r.problems, SizeIs(1));
  EXPECT_EQ(r.problems[0].line, 1);
  EXPECT_EQ(r.problems[0].file, "bad.txt");
  EXPECT_FALSE(r.problems[0].skipped);
}

TEST(DetectTest, UnknownAndEmpty) {
  EXPECT_EQ(DetectFormat("hello\nworld\n"), Format::kUnknown);
  EXPECT_EQ(DetectFormat("\n{\"titleEn\":\"x\"}\n"), Format::kJsonLines);
  EXPECT_EQ(DetectFormat("garbage\n\nRT Dissertation/Thesis\n"), Format::kRefWorks);
  EXPECT_EQ(DetectFormat("Title\n\n【作者】 张三\n"), Format::kCnkiPage);
  const ParseResult unknown = ParseFile("hello\n", "x");
  EXPECT_EQ(unknown.format, Format::kUnknown);
  ASSERT_THAT(unknown.problems, SizeIs(1));
  EXPECT_EQ(unknown.problems[0].line, 1);
  const ParseResult empty = ParseFile(" \n\n", "x");
  EXPECT_THAT(empty.problems, IsEmpty());
  EXPECT_THAT(empty.records, IsEmpty());
}

TEST(DegreeTest, TextToLevelAndBack) {
  using thesis::v1::DegreeLevel;
  EXPECT_EQ(ParseDegreeLevel("硕士"), thesis::v1::DEGREE_LEVEL_MASTER);
  EXPECT_EQ(ParseDegreeLevel(" 博士 "), thesis::v1::DEGREE_LEVEL_DOCTOR);
  EXPECT_EQ(ParseDegreeLevel("学士"), thesis::v1::DEGREE_LEVEL_BACHELOR);
  EXPECT_EQ(ParseDegreeLevel("专业硕士"), thesis::v1::DEGREE_LEVEL_PROFESSIONAL_MASTER);
  EXPECT_EQ(ParseDegreeLevel("硕士专业学位"), thesis::v1::DEGREE_LEVEL_PROFESSIONAL_MASTER);
  EXPECT_EQ(ParseDegreeLevel("博士后"), thesis::v1::DEGREE_LEVEL_POSTDOCTORAL);
  EXPECT_EQ(ParseDegreeLevel("PhD"), thesis::v1::DEGREE_LEVEL_DOCTOR);
  EXPECT_EQ(ParseDegreeLevel("名誉"), thesis::v1::DEGREE_LEVEL_OTHER);
  EXPECT_EQ(ParseDegreeLevel(""), thesis::v1::DEGREE_LEVEL_UNSPECIFIED);
  for (int v = thesis::v1::DegreeLevel_MIN; v <= thesis::v1::DegreeLevel_MAX; ++v) {
    const auto level = static_cast<DegreeLevel>(v);
    EXPECT_EQ(ParseDegreeLevel(DegreeText(level)), level) << v;
  }
}

TEST(MappingTest, ListsSeparatorsAndScripts) {
  const ParseResult r = ParseRefWorks(
      "RT Dissertation/Thesis\n"
      "A1 颜宏,石德成，尹尚军\n"
      "A1 Smith, John\n"
      "A3 导师甲；导师乙;\n"
      "T1 An English Title\n"
      "K1 railway, freight\n"
      "AB English abstract\n"
      "YR 2011年\n",
      "f");
  ASSERT_THAT(r.records, SizeIs(1)) << (r.problems.empty() ? "" : r.problems[0].reason);
  const Thesis& t = r.records[0].thesis;
  EXPECT_THAT(t.authors(), ElementsAre("颜宏", "石德成", "尹尚军", "Smith, John"));
  EXPECT_THAT(t.advisors(), ElementsAre("导师甲", "导师乙"));
  EXPECT_EQ(t.title_en(), "An English Title");
  EXPECT_THAT(t.keywords_en(), ElementsAre("railway", "freight"));
  EXPECT_EQ(t.abstract_en(), "English abstract");
  EXPECT_EQ(t.degree_year(), 2011);
  EXPECT_EQ(t.language(), "en");
}

TEST(MappingTest, NoteExpressOlderVariant) {
  const ParseResult r = ParseNoteExpress(
      "{Reference Type}: Thesis\n"
      "{Title}: 电子政务研究\n"
      "{Author}: 郑忠锋\n"
      "{Tertiary Author}: 江正平\n"
      "{Journal}: 兰州大学\n"
      "{Publisher}: 中国优秀硕士学位论文全文数据库\n"
      "{Type of Work}: 硕士\n"
      "{Year}: 2009\n"
      "{Abstract}: 第一段(#br)第二段\n"
      "{DOI}: CNKI:CDMD:2.1012.123456\n"
      "{Database Provider}: CNKI\n",
      "f");
  ASSERT_THAT(r.records, SizeIs(1)) << (r.problems.empty() ? "" : r.problems[0].reason);
  const Thesis& t = r.records[0].thesis;
  EXPECT_EQ(t.institution(), "兰州大学");
  EXPECT_EQ(t.source().database(), "CDMD");
  EXPECT_EQ(t.source().record_id(), "2.1012.123456");
  EXPECT_EQ(t.abstract_zh(), "第一段\n第二段");
  EXPECT_EQ(t.degree_level(), thesis::v1::DEGREE_LEVEL_MASTER);
}

TEST(MappingTest, CnkiPageSeveralRecordsAndBadIssue) {
  const ParseResult r = ParseCnkiPage(
      "中文题名一\nEnglish Title One\n\n【作者】 张三;李四;\n\n【摘要】 第一段。\n\n第二段。\n\n"
      "【关键词】 电子政务;政府\n\n  • 【网络出版年期】2011年 S1期\n  • "
      "【分类号】TP311.13;TP391\n\n"
      "题名二\n\n【作者】 王五\n\n  • 【网络出版年期】2011 S1\n",
      "p");
  ASSERT_THAT(r.records, SizeIs(1));
  const Thesis& t = r.records[0].thesis;
  EXPECT_EQ(t.title_zh(), "中文题名一");
  EXPECT_EQ(t.title_en(), "English Title One");
  EXPECT_THAT(t.authors(), ElementsAre("张三", "李四"));
  EXPECT_EQ(t.abstract_zh(), "第一段。\n第二段。");
  EXPECT_THAT(t.keywords_zh(), ElementsAre("电子政务", "政府"));
  EXPECT_THAT(t.classification_codes(), ElementsAre("TP311.13", "TP391"));
  EXPECT_EQ(t.online_publication().year(), 2011);
  EXPECT_EQ(t.online_publication().issue(), "S1");
  EXPECT_FALSE(t.has_legacy_download_count());
  ASSERT_THAT(r.problems, SizeIs(1));
  EXPECT_EQ(r.problems[0].line, 15);
  EXPECT_THAT(r.problems[0].reason, HasSubstr("网络出版年期"));
}

TEST(RobustnessTest, InvalidUtf8AndOversizedFieldsAreMalformed) {
  const ParseResult bad = ParseRefWorks("RT Thesis\nA1 a\xC3\nT1 t\n", "f");
  EXPECT_THAT(bad.records, IsEmpty());
  ASSERT_THAT(bad.problems, SizeIs(1));
  EXPECT_THAT(bad.problems[0].reason, HasSubstr("UTF-8"));

  const ParseResult big =
      ParseEndNote(absl::StrCat("%0 Thesis\n%A 张三\n%T ", std::string(3000, 'x'), "\n"), "f");
  EXPECT_THAT(big.records, IsEmpty());
  ASSERT_THAT(big.problems, SizeIs(1));
  EXPECT_THAT(big.problems[0].reason, HasSubstr("at most 2048 bytes"));
}

TEST(RobustnessTest, ReadersTolerateBomAndCrlf) {
  const ParseResult r = ParseRefWorks("\xEF\xBB\xBFRT Thesis\r\nA1 张三\r\nT1 题目\r\n", "f");
  ASSERT_THAT(r.records, SizeIs(1));
  EXPECT_THAT(r.records[0].thesis.authors(), ElementsAre("张三"));
  EXPECT_EQ(r.records[0].thesis.title_zh(), "题目");
}

TEST(RobustnessTest, ProblemAndFieldLimits) {
  std::string many;
  for (int i = 0; i < 10005; ++i) many += "RT Journal Article\n\n";
  const ParseResult r = ParseRefWorks(many, "f");
  ASSERT_THAT(r.problems, SizeIs(10001));
  EXPECT_TRUE(r.problems[9999].skipped);
  EXPECT_EQ(r.problems[10000].line, 20001);
  EXPECT_FALSE(r.problems[10000].skipped);
  EXPECT_THAT(r.problems[10000].reason, HasSubstr("5 more problems"));

  std::string fields = "RT Thesis\nT1 题目\n";
  for (int i = 0; i < 10001; ++i) fields += "A1 张三\n";
  const ParseResult f = ParseRefWorks(fields, "f");
  EXPECT_THAT(f.records, IsEmpty());
  ASSERT_THAT(f.problems, SizeIs(1));
  EXPECT_THAT(f.problems[0].reason, HasSubstr("fields"));
}

}  // namespace
}  // namespace thesis::formats
