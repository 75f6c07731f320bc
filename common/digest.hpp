// A fast, streaming 64-bit digest of a byte string, for checking that both variants of a
// chapter computed the same result (§2.2).  Not cryptographic; it only has to notice a
// difference, and to cost little next to the I/O it follows.
//
// Definition ("wb64"), so a test or a script can compute it independently:
//   h = 0xcbf29ce484222325
//   for each 8-byte little-endian word w of the input (the last one zero-padded):
//       h = h XOR w;  h = h * 0x100000001b3 (mod 2^64);  h = h XOR (h >> 29)
//   then the same step once more with w = the input's length in bytes.
// The value does not depend on how the input is split across update() calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace wb {

class Digest {
 public:
  void update(const void* data, std::size_t n) noexcept {
    auto p = static_cast<const unsigned char*>(data);
    length_ += n;
    if (fill_ > 0) {
      while (n > 0 && fill_ < 8) {
        pending_ |= std::uint64_t{*p++} << (8 * fill_++);
        --n;
      }
      if (fill_ < 8) return;
      mix(pending_);
      pending_ = 0;
      fill_ = 0;
    }
    for (; n >= 8; p += 8, n -= 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);  // x86-64 and arm64 Linux are little-endian
      mix(w);
    }
    while (n > 0) {
      pending_ |= std::uint64_t{*p++} << (8 * fill_++);
      --n;
    }
  }
  void update_u64(std::uint64_t v) noexcept { update(&v, sizeof v); }

  std::uint64_t finish() const noexcept {
    Digest d = *this;
    if (d.fill_ > 0) d.mix(d.pending_);
    d.mix(d.length_);
    return d.h_;
  }

  static std::string hex(std::uint64_t v) {
    static const char* digits = "0123456789abcdef";
    std::string s(16, '0');
    for (int i = 15; i >= 0; --i, v >>= 4) s[static_cast<std::size_t>(i)] = digits[v & 15];
    return s;
  }

 private:
  void mix(std::uint64_t w) noexcept {
    h_ ^= w;
    h_ *= 0x100000001b3ULL;
    h_ ^= h_ >> 29;
  }

  std::uint64_t h_ = 0xcbf29ce484222325ULL;
  std::uint64_t length_ = 0;
  std::uint64_t pending_ = 0;
  unsigned fill_ = 0;
};

}  // namespace wb
