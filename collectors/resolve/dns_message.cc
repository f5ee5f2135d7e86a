#include "collectors/resolve/dns_message.h"

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace mailhealth {
namespace {

constexpr size_t kHeaderSize = 12;

uint16_t Get16(const unsigned char* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

uint32_t Get32(const unsigned char* p) {
  return (static_cast<uint32_t>(p[0]) << 24) |
         (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | static_cast<uint32_t>(p[3]);
}

struct AresStringDeleter {
  void operator()(char* p) const { ares_free_string(p); }
};

// Expands the (possibly compressed) name at `p`; sets *enc_len to its
// length in the packet. ares_expand_name guards against pointer loops.
bool ExpandName(const unsigned char* p, const unsigned char* buf, size_t len,
                std::string* out, long* enc_len) {
  char* s = nullptr;
  if (ares_expand_name(p, buf, static_cast<int>(len), &s, enc_len) !=
      ARES_SUCCESS) {
    return false;
  }
  std::unique_ptr<char, AresStringDeleter> owned(s);
  *out = NormalizeName(s);
  return true;
}

// Steps *p over the question section's `qdcount` entries.
Status SkipQuestions(const unsigned char* buf, size_t len, unsigned qdcount,
                     const unsigned char** p) {
  const unsigned char* end = buf + len;
  std::string name;
  long n = 0;
  for (unsigned i = 0; i < qdcount; ++i) {
    if (*p >= end || !ExpandName(*p, buf, len, &name, &n)) {
      return Status::Error("malformed question name");
    }
    *p += n;
    if (end - *p < 4) return Status::Error("truncated question");
    *p += 4;
  }
  return Status::Ok();
}

// One answer record's type and data (rdlen bytes at rd, inside the packet).
struct Record {
  uint16_t type;
  const unsigned char* rd;
  uint16_t rdlen;
};

// The character-strings of a TXT record, joined.
Status ParseTxt(const Record& r, std::string* text) {
  for (size_t k = 0; k < r.rdlen;) {
    const size_t l = r.rd[k];
    if (k + 1 + l > r.rdlen) return Status::Error("malformed TXT");
    text->append(reinterpret_cast<const char*>(r.rd + k + 1), l);
    k += 1 + l;
  }
  return Status::Ok();
}

Status ParseMx(const Record& r, const unsigned char* buf, size_t len,
               MxRecord* mx) {
  if (r.rdlen < 3) return Status::Error("short MX record");
  long n = 0;
  mx->preference = Get16(r.rd);
  if (!ExpandName(r.rd + 2, buf, len, &mx->exchange, &n) || n + 2 > r.rdlen) {
    return Status::Error("malformed MX exchange");
  }
  return Status::Ok();
}

Status ParseTlsa(const Record& r, TlsaRecord* t) {
  if (r.rdlen < 3) return Status::Error("short TLSA record");
  t->usage = r.rd[0];
  t->selector = r.rd[1];
  t->matching_type = r.rd[2];
  t->data.assign(reinterpret_cast<const char*>(r.rd + 3), r.rdlen - 3);
  return Status::Ok();
}

// An A or AAAA record's address, as text.
Status ParseAddress(const Record& r, std::string* out) {
  const int family = r.type == kTypeA ? AF_INET : AF_INET6;
  const size_t want = r.type == kTypeA ? 4 : 16;
  if (r.rdlen != want) return Status::Error("bad address length");
  char text[INET6_ADDRSTRLEN];
  if (inet_ntop(family, r.rd, text, sizeof text) == nullptr) {
    return Status::Error("bad address");
  }
  *out = text;
  return Status::Ok();
}

// Adds the data of a record of the asked type to *a (types without a
// field in DnsAnswer add nothing).
Status AddRecordData(const Record& r, const unsigned char* buf, size_t len,
                     DnsAnswer* a) {
  if (r.type == kTypePtr) {
    std::string target;
    long n = 0;
    if (!ExpandName(r.rd, buf, len, &target, &n) || n > r.rdlen) {
      return Status::Error("malformed PTR");
    }
    a->names.push_back(std::move(target));
  } else if (r.type == kTypeTxt) {
    std::string text;
    if (Status st = ParseTxt(r, &text); !st.ok()) return st;
    a->texts.push_back(std::move(text));
  } else if (r.type == kTypeMx) {
    MxRecord mx;
    if (Status st = ParseMx(r, buf, len, &mx); !st.ok()) return st;
    a->mx.push_back(std::move(mx));
  } else if (r.type == kTypeTlsa) {
    TlsaRecord t;
    if (Status st = ParseTlsa(r, &t); !st.ok()) return st;
    a->tlsa.push_back(std::move(t));
  } else if (r.type == kTypeA || r.type == kTypeAaaa) {
    std::string text;
    if (Status st = ParseAddress(r, &text); !st.ok()) return st;
    a->addresses.push_back(std::move(text));
  }
  return Status::Ok();
}

}  // namespace

const char* DnsStatusName(DnsStatus s) {
  switch (s) {
    case DnsStatus::kNoError:
      return "noerror";
    case DnsStatus::kNxDomain:
      return "nxdomain";
    case DnsStatus::kServFail:
      return "servfail";
    case DnsStatus::kRefused:
      return "refused";
    case DnsStatus::kFormErr:
      return "formerr";
    case DnsStatus::kTimeout:
      return "timeout";
    case DnsStatus::kOther:
      return "other";
  }
  return "other";
}

const char* QTypeName(uint16_t qtype) {
  switch (qtype) {
    case kTypeA:
      return "A";
    case kTypeCname:
      return "CNAME";
    case kTypeMx:
      return "MX";
    case kTypeAaaa:
      return "AAAA";
    case kTypePtr:
      return "PTR";
    case kTypeTxt:
      return "TXT";
    default:
      return "OTHER";
  }
}

std::string NormalizeName(std::string_view name) {
  std::string out(name);
  while (!out.empty() && out.back() == '.') out.pop_back();
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (out.empty()) return ".";
  return out;
}

DnsStatus StatusFromRcode(int rcode) {
  switch (rcode) {
    case 0:
      return DnsStatus::kNoError;
    case 1:
      return DnsStatus::kFormErr;
    case 2:
      return DnsStatus::kServFail;
    case 3:
      return DnsStatus::kNxDomain;
    case 5:
      return DnsStatus::kRefused;
    default:
      return DnsStatus::kOther;
  }
}

DnsStatus StatusFromAresCode(int ares_status) {
  switch (ares_status) {
    case ARES_SUCCESS:
    case ARES_ENODATA:
      return DnsStatus::kNoError;
    case ARES_ENOTFOUND:
      return DnsStatus::kNxDomain;
    case ARES_ESERVFAIL:
      return DnsStatus::kServFail;
    case ARES_EREFUSED:
      return DnsStatus::kRefused;
    case ARES_EFORMERR:
      return DnsStatus::kFormErr;
    case ARES_ETIMEOUT:
    case ARES_ECANCELLED:
      return DnsStatus::kTimeout;
    default:
      return DnsStatus::kOther;
  }
}

Result<DnsAnswer> ParseDnsResponse(const unsigned char* buf, size_t len,
                                   uint16_t qtype) {
  if (buf == nullptr || len < kHeaderSize) {
    return Status::Error("reply shorter than a DNS header");
  }
  DnsAnswer a;
  a.truncated = (buf[2] & 0x02) != 0;
  a.rcode = buf[3] & 0x0f;
  a.authenticated = (buf[3] & 0x20) != 0;
  if ((buf[2] & 0x80) == 0) return Status::Error("not a response (QR=0)");
  const unsigned qdcount = Get16(buf + 4);
  const unsigned ancount = Get16(buf + 6);
  const unsigned char* p = buf + kHeaderSize;
  const unsigned char* end = buf + len;
  if (Status st = SkipQuestions(buf, len, qdcount, &p); !st.ok()) return st;
  std::string name;
  long n = 0;
  for (unsigned i = 0; i < ancount; ++i) {
    if (p >= end || !ExpandName(p, buf, len, &name, &n)) {
      return Status::Error("malformed answer name");
    }
    p += n;
    if (end - p < 10) return Status::Error("truncated answer record");
    const uint16_t type = Get16(p);
    const uint16_t cls = Get16(p + 2);
    // RFC 2181 8: a TTL with the top bit set is read as 0.
    uint32_t ttl = Get32(p + 4);
    if (ttl & 0x80000000u) ttl = 0;
    const uint16_t rdlen = Get16(p + 8);
    p += 10;
    if (end - p < rdlen) return Status::Error("answer data past the end");
    const unsigned char* rd = p;
    p += rdlen;
    if (cls != 1) continue;  // only class IN
    if (type == kTypeCname) {
      std::string target;
      if (!ExpandName(rd, buf, len, &target, &n) || n > rdlen) {
        return Status::Error("malformed CNAME");
      }
      a.cname_chain.push_back(target);
    }
    if (type != qtype) continue;
    a.min_ttl = a.count() == 0 ? ttl : std::min(a.min_ttl, ttl);
    const Record record{type, rd, rdlen};
    if (Status st = AddRecordData(record, buf, len, &a); !st.ok()) return st;
  }
  return a;
}

}  // namespace mailhealth
