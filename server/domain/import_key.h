// The identity of an imported record, used to recognise it when the same
// file (or another export of the same source) is imported again.
#ifndef THESIS_SERVER_DOMAIN_IMPORT_KEY_H_
#define THESIS_SERVER_DOMAIN_IMPORT_KEY_H_

#include <string>

#include "thesis/v1/thesis.pb.h"

namespace thesis::domain {

// "src:" + database + ":" + record id when the source says both; otherwise
// "nat:" + title + "|" + first author + "|" + institution + "|" + degree
// year, each folded: ASCII lower-cased, white space and punctuation (ASCII
// and full-width) removed. Traditional and simplified characters are not
// folded into each other.
std::string ImportKey(const thesis::v1::Thesis& thesis);

// True when the writable fields of `a` and `b` are equal (name, times and
// etag are ignored).
bool SameContent(const thesis::v1::Thesis& a, const thesis::v1::Thesis& b);

}  // namespace thesis::domain

#endif  // THESIS_SERVER_DOMAIN_IMPORT_KEY_H_
