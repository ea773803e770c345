// Search text: normalization (widths, case, traditional to simplified with
// OpenCC, invalid UTF-8) and tokens (bigrams, stems, numbers, positions).
#include "server/domain/search_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace thesis::domain::search {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(SearchText, LoadsOpenCcAndTheStemmer) {
  EXPECT_TRUE(InitSearchText().ok()) << InitSearchText();
}

struct NormalizeCase {
  const char* text;
  const char* normalized;
};

TEST(SearchText, Normalize) {
  const NormalizeCase cases[] = {
      // Widths and case.
      {"ＡＢＣ１２３", "abc123"},
      {"Ｔｈｅ　ＣＯＶＩＤ－１９：", "the covid-19:"},
      {"Big DATA", "big data"},
      {"ÉCOLE Ångström", "école ångström"},
      {"Straße", "straße"},
      // Traditional to simplified, character by character.
      {"電子政務", "电子政务"},
      {"圖書館", "图书馆"},
      {"計算機網絡", "计算机网络"},
      {"頭髮", "头发"},
      {"電子政务", "电子政务"},  // mixed forms
      // Simplified text is left alone.
      {"电子政务建设研究", "电子政务建设研究"},
      {"图书馆", "图书馆"},
      // Character level, not vocabulary: the Taiwan word stays a word.
      {"軟體", "软体"},
      {"滑鼠", "滑鼠"},
      // t2s's phrase table settles one-to-many characters.
      {"乾燥", "干燥"},
      {"乾隆", "乾隆"},
      // Full-width forms among Chinese, and Chinese punctuation kept.
      {"電子政務：以蘭州為例", "电子政务:以兰州为例"},
      {"《圖書館學》，２００９", "《图书馆学》,2009"},
      // Invalid UTF-8 dropped: a stray byte, a truncated character, a
      // surrogate, an overlong form, a value above U+10FFFF.
      {"a\xff"
       "b",
       "ab"},
      {"\xe9\x9b\xbb\xe5\xad", "电"},
      {"x\xed\xa0\x80y", "xy"},
      {"\xc0\xaf"
       "z",
       "z"},
      {"\xf4\x90\x80\x80!", "!"},
      {"", ""},
  };
  for (const NormalizeCase& c : cases) {
    EXPECT_EQ(NormalizeText(c.text), c.normalized) << c.text;
  }
}

// OpenCC stops at a NUL byte: the text after one is converted too.
TEST(SearchText, NormalizeAcrossNulBytes) {
  const std::string text("電子\0政務\0", 14);
  EXPECT_EQ(NormalizeText(text), std::string("电子\0政务\0", 14));
}

// Whichever form a record and a query are written in, they meet.
TEST(SearchText, TraditionalAndSimplifiedMatchEachOther) {
  const std::pair<const char*, const char*> pairs[] = {
      {"電子政務", "电子政务"}, {"圖書館", "图书馆"},     {"軟體", "软体"},
      {"發展", "发展"},         {"數據挖掘", "数据挖掘"}, {"蘭州大學", "兰州大学"},
      {"經濟學", "经济学"},     {"資訊管理", "资讯管理"},
  };
  for (const auto& [traditional, simplified] : pairs) {
    EXPECT_EQ(DebugString(Analyze(traditional)), DebugString(Analyze(simplified)))
        << traditional << " / " << simplified;
  }
  // Vocabulary is not translated: 軟體 does not become 软件.
  EXPECT_NE(NormalizeText("軟體"), "软件");
}

TEST(SearchText, NormalizeIsStableOnItsOutput) {
  for (const char* text : {"電子政務建設研究：以蘭州為例", "ＣＯＶＩＤ－１９ 疫情", "乾隆 乾燥"}) {
    const std::string once = NormalizeText(text);
    EXPECT_EQ(NormalizeText(once), once) << text;
  }
}

TEST(SearchText, HanRunsBecomeBigrams) {
  const std::vector<Token> tokens = Tokenize("电子政务");
  EXPECT_THAT(tokens, ElementsAre(Token{TokenKind::kHanBigram, "电子", 0, 0, 6},
                                  Token{TokenKind::kHanBigram, "子政", 1, 3, 9},
                                  Token{TokenKind::kHanBigram, "政务", 2, 6, 12}));
  EXPECT_THAT(Tokenize("法"), ElementsAre(Token{TokenKind::kHanUnigram, "法", 0, 0, 3}));
  EXPECT_THAT(Tokenize("法律"), ElementsAre(Token{TokenKind::kHanBigram, "法律", 0, 0, 6}));
  // 〇 is a Chinese numeral; an extension-B character is Chinese too.
  EXPECT_EQ(DebugString(Tokenize("二〇〇九年")), "二〇@0 〇〇@1 〇九@2 九年@3");
  EXPECT_EQ(DebugString(Tokenize("\xf0\xa0\x80\x80中")), "\xf0\xa0\x80\x80中@0");
}

struct TokenizeCase {
  const char* text;  // given to Analyze
  const char* tokens;
};

TEST(SearchText, TokensAndPositions) {
  const TokenizeCase cases[] = {
      // Punctuation and spaces take no position.
      {"电子 政务", "电子@0 政务@2"},
      {"电子，政务", "电子@0 政务@2"},
      {"电子政务建设", "电子@0 子政@1 政务@2 务建@3 建设@4"},
      // Mixed scripts: one token per run, adjacent positions.
      {"5G网络", "5@0 g@1 网络@2"},
      {"COVID-19疫情", "covid@0 19@1 疫情@2"},
      {"IPv6 networks", "ipv@0 6@1 network@2"},
      {"法 律", "法@0 律@1"},
      {"a法b", "a@0 法@1 b@2"},
      {"2009年", "2009@0 年@1"},
      // Stems.
      {"Networks", "network@0"},
      {"governance governing governed", "govern@0 govern@1 govern@2"},
      {"China's reforms", "china@0 reform@1"},
      {"China’s", "china@0"},
      {"'quoted'", "quot@0"},
      {"Ａｎａｌｙｓｉｓ", "analysi@0"},
      {"studies studying", "studi@0 studi@1"},
      {"café", "café@0"},
      // Numbers as written.
      {"007 3.14", "007@0 3@1 14@2"},
      // Nothing to search for.
      {"—— &&& ！？", ""},
      {"", ""},
  };
  for (const TokenizeCase& c : cases) {
    EXPECT_EQ(DebugString(Analyze(c.text)), c.tokens) << c.text;
  }
}

TEST(SearchText, TokenKindsAndOffsets) {
  const std::string text = NormalizeText("ＩＰｖ６ 网络");
  ASSERT_EQ(text, "ipv6 网络");
  EXPECT_THAT(Tokenize(text), ElementsAre(Token{TokenKind::kLatinStem, "ipv", 0, 0, 3},
                                          Token{TokenKind::kNumber, "6", 1, 3, 4},
                                          Token{TokenKind::kHanBigram, "网络", 2, 5, 11}));
  EXPECT_THAT(Tokenize("\xff\xfe"), IsEmpty());
}

// Each thread has its own stemmer and shares the converter: the results are
// the same as on one thread.
TEST(SearchText, ThreadsGetTheSameTokens) {
  const std::string text =
      "電子政務 governance networks ＣＯＶＩＤ－１９ 圖書館 studies 2009 libraries";
  const std::string expected = DebugString(Analyze(text));
  std::vector<std::thread> threads;
  std::vector<int> mismatches(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        if (DebugString(Analyze(text)) != expected) ++mismatches[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(mismatches, ::testing::Each(0));
}

}  // namespace
}  // namespace thesis::domain::search
