#include "server/tokenizer/bert_unicode.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/ustring.h>

#include <array>
#include <utility>

namespace lion::tokenizer {
namespace {

// Hugging Face's NFD (the `unicode-normalization-alignments` crate) has
// Unicode 9.0 tables: later characters neither decompose nor reorder.
constexpr uint8_t kNormalizationUnicodeMajor = 9;

// Code points assigned by Unicode 8.0 whose general category changed later;
// Hugging Face still sees the 8.0 category.
constexpr std::array<std::pair<char32_t, UCharCategory>, 6> kUnicode8Categories = {{
    {0x111C9, U_OTHER_PUNCTUATION},      // SHARADA SANDHI MARK: Mn since 11.0
    {0x166D, U_OTHER_PUNCTUATION},       // CANADIAN SYLLABICS CHI SIGN: So since 12.0
    {0x1734, U_NON_SPACING_MARK},        // HANUNOO SIGN PAMUDPOD: Mc since 14.0
    {0x1885, U_OTHER_LETTER},            // MONGOLIAN LETTER ALI GALI BALUDA: Mn since 9.0
    {0x1886, U_OTHER_LETTER},            // MONGOLIAN LETTER ALI GALI THREE BALUDA: Mn since 9.0
    {0xA9BD, U_COMBINING_SPACING_MARK},  // JAVANESE CONSONANT SIGN KERET: Mn since 12.0
}};

// Lower-case pairs added in Unicode 16.0 and 17.0, after ICU 72 (Unicode 15.0), which Rust's
// char::to_lowercase knows: [first, last] maps to lower_first + (c - first).
struct LowercaseRange {
  char32_t first;
  char32_t last;
  char32_t lower_first;
};
constexpr std::array<LowercaseRange, 10> kLowercaseAfterIcu = {{
    {0x1C89, 0x1C89, 0x1C8A},
    {0xA7CB, 0xA7CB, 0x0264},
    {0xA7CC, 0xA7CC, 0xA7CD},
    {0xA7CE, 0xA7CE, 0xA7CF},
    {0xA7D2, 0xA7D2, 0xA7D3},
    {0xA7D4, 0xA7D4, 0xA7D5},
    {0xA7DA, 0xA7DA, 0xA7DB},
    {0xA7DC, 0xA7DC, 0x019B},
    {0x10D50, 0x10D65, 0x10D70},  // Garay
    {0x16EA0, 0x16EB8, 0x16EBB},  // Beria Erfe
}};

bool AssignedBy(char32_t c, uint8_t major) {
  UVersionInfo age;
  u_charAge(static_cast<UChar32>(c), age);
  return age[0] <= major && (age[0] < major || age[1] == 0);
}

// General category as the Unicode 8.0 tables give it.
UCharCategory Unicode8Category(char32_t c) {
  if (!AssignedBy(c, 8)) return U_UNASSIGNED;
  for (const auto& [code_point, category] : kUnicode8Categories) {
    if (code_point == c) return category;
  }
  return static_cast<UCharCategory>(u_charType(static_cast<UChar32>(c)));
}

bool IsAsciiPunctuation(char32_t c) {
  return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
         (c >= 0x7B && c <= 0x7E);
}

const icu::Normalizer2* NfdInstance() {
  static const icu::Normalizer2* const nfd = [] {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* n = icu::Normalizer2::getNFDInstance(status);
    return U_SUCCESS(status) ? n : nullptr;
  }();
  return nfd;
}

void AppendUtf16(const UChar* s, int32_t length, std::u32string* out) {
  for (int32_t i = 0; i < length;) {
    UChar32 c;
    U16_NEXT(s, i, length, c);
    out->push_back(static_cast<char32_t>(c));
  }
}

}  // namespace

bool HaveUnicodeData() { return NfdInstance() != nullptr; }

bool IsBertWhitespace(char32_t c) {
  if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D);
  return u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_WHITE_SPACE);
}

bool IsBertRemovedControl(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  if (c < 0x80) return c < 0x20 || c == 0x7F;
  if (c == 0xFFFD) return true;
  const UCharCategory category = Unicode8Category(c);
  return category == U_CONTROL_CHAR || category == U_FORMAT_CHAR || category == U_PRIVATE_USE_CHAR;
}

bool IsBertPunctuation(char32_t c) {
  if (c < 0x80) return IsAsciiPunctuation(c);
  switch (Unicode8Category(c)) {
    case U_DASH_PUNCTUATION:
    case U_START_PUNCTUATION:
    case U_END_PUNCTUATION:
    case U_CONNECTOR_PUNCTUATION:
    case U_OTHER_PUNCTUATION:
    case U_INITIAL_PUNCTUATION:
    case U_FINAL_PUNCTUATION:
      return true;
    default:
      return false;
  }
}

bool IsCjkIdeograph(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

bool IsNonspacingMark(char32_t c) {
  if (c < 0x300) return false;
  return Unicode8Category(c) == U_NON_SPACING_MARK;
}

uint8_t CombiningClass(char32_t c) {
  if (c < 0x300 || !AssignedBy(c, kNormalizationUnicodeMajor)) return 0;
  return u_getCombiningClass(static_cast<UChar32>(c));
}

void AppendCanonicalDecomposition(char32_t c, std::u32string* out) {
  const icu::Normalizer2* nfd = NfdInstance();
  icu::UnicodeString decomposition;
  if (c < 0xC0 || nfd == nullptr || !AssignedBy(c, kNormalizationUnicodeMajor) ||
      !nfd->getDecomposition(static_cast<UChar32>(c), decomposition)) {
    out->push_back(c);
    return;
  }
  AppendUtf16(decomposition.getBuffer(), decomposition.length(), out);
}

void AppendLowercase(char32_t c, std::u32string* out) {
  if (c < 0x80) {
    out->push_back(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    return;
  }
  for (const LowercaseRange& r : kLowercaseAfterIcu) {
    if (c >= r.first && c <= r.last) {
      out->push_back(r.lower_first + (c - r.first));
      return;
    }
  }
  UChar src[2];
  int32_t src_length = 0;
  U16_APPEND_UNSAFE(src, src_length, static_cast<UChar32>(c));
  UChar dest[8];
  UErrorCode status = U_ZERO_ERROR;
  const int32_t length = u_strToLower(dest, 8, src, src_length, "", &status);
  if (U_FAILURE(status) || length > 8) {
    out->push_back(c);
    return;
  }
  AppendUtf16(dest, length, out);
}

}  // namespace lion::tokenizer
