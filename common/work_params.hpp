// The loopback backend's one endpoint, GET /work?..., described once for the server and its
// clients: what a request asks for, how its answer's body is made, and whether it fails — by
// its id (a seeded share) or by when it arrives (an outage window).
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/work.hpp"

namespace wb {

struct WorkRequest {
  std::int64_t delay_ms = 0;  // the service waits this long before it answers
  std::int64_t bytes = 0;     // size of the answer's body
  double fail = 0;            // the share of ids that get a 500 at once instead (by seed and id)
  double stall = 0;           // the share of ids that never get an answer
  std::uint64_t seed = 1;
  std::uint64_t id = 0;     // which request this is; the same id always gets the same answer
  std::int64_t gather = 0;  // answer none of these before this many have arrived (0: off)
  // An outage: a window of this machine's monotonic clock (steady_clock, which every process on
  // the machine shares), from outage_at_ms for outage_ms, in which every request fails at once
  // (kOutageError: a 500) or is never answered (kOutageStall).  Whether a request falls in it
  // depends on when it arrives, not on its id.  kNoOutage: none.
  static constexpr int kNoOutage = 0, kOutageError = 1, kOutageStall = 2;
  int outage = kNoOutage;
  std::int64_t outage_at_ms = 0;
  std::int64_t outage_ms = 0;

  std::string target() const {
    return "/work?delay_ms=" + std::to_string(delay_ms) + "&bytes=" + std::to_string(bytes) +
           "&fail=" + std::to_string(fail) + "&stall=" + std::to_string(stall) + "&seed=" + std::to_string(seed) +
           "&id=" + std::to_string(id) + (gather > 0 ? "&gather=" + std::to_string(gather) : std::string()) +
           (outage == kNoOutage
                ? std::string()
                : std::string("&outage=") + (outage == kOutageError ? "error" : "stall") +
                      "&outage_at_ms=" + std::to_string(outage_at_ms) + "&outage_ms=" + std::to_string(outage_ms));
  }
  // Whether the outage is on at `now_ms` (steady_clock milliseconds).
  bool in_outage(std::int64_t now_ms) const {
    return outage != kNoOutage && now_ms >= outage_at_ms && now_ms - outage_at_ms < outage_ms;
  }

  // A uniform number in [0, 1) fixed by (seed, id, salt): whether this id fails or stalls.
  double draw(std::uint64_t salt) const {
    SplitMix64 r(seed * 0x9e3779b97f4a7c15ULL ^ (id + 1) * 0xbf58476d1ce4e5b9ULL ^ salt);
    return static_cast<double>(r.next() >> 11) / 9007199254740992.0;  // 2^53
  }
  bool fails() const { return fail > 0 && draw(1) < fail; }
  bool stalls() const { return stall > 0 && draw(2) < stall; }

  // The body: `bytes` bytes that depend on the id only, so a client can check what it got.
  std::string body() const {
    std::string b(static_cast<std::size_t>(bytes), '\0');
    SplitMix64 r(id * 0x100000001b3ULL + seed);
    for (std::size_t i = 0; i < b.size(); i += 8) {
      const auto v = r.next();
      for (std::size_t k = 0; k < 8 && i + k < b.size(); ++k) b[i + k] = static_cast<char>('a' + ((v >> (8 * k)) & 15));
    }
    return b;
  }

  // Parses the query of a /work target; nullopt (with *error) for anything malformed.
  static std::optional<WorkRequest> parse(std::string_view target, std::string* error) {
    const auto q = target.find('?');
    if (target.substr(0, q) != "/work") {
      if (error) *error = "unknown path";
      return std::nullopt;
    }
    WorkRequest w;
    std::string_view rest = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
    while (!rest.empty()) {
      const auto amp = rest.find('&');
      const auto pair = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
      const auto eq = pair.find('=');
      if (eq == std::string_view::npos) continue;
      const auto key = pair.substr(0, eq);
      const auto val = pair.substr(eq + 1);
      auto as_int = [&](std::int64_t& out, std::int64_t lo, std::int64_t hi) {
        const auto r = std::from_chars(val.data(), val.data() + val.size(), out);
        return r.ec == std::errc{} && r.ptr == val.data() + val.size() && out >= lo && out <= hi;
      };
      auto as_share = [&](double& out) {
        try {
          std::size_t used = 0;
          out = std::stod(std::string(val), &used);
          return used == val.size() && out >= 0 && out <= 1;
        } catch (...) {
          return false;
        }
      };
      std::int64_t n = 0;
      bool ok = true;
      if (key == "delay_ms")
        ok = as_int(w.delay_ms, 0, 3'600'000);
      else if (key == "bytes")
        ok = as_int(w.bytes, 0, 64 << 20);
      else if (key == "fail")
        ok = as_share(w.fail);
      else if (key == "stall")
        ok = as_share(w.stall);
      else if (key == "seed" && (ok = as_int(n, 0, INT64_MAX)))
        w.seed = static_cast<std::uint64_t>(n);
      else if (key == "id" && (ok = as_int(n, 0, INT64_MAX)))
        w.id = static_cast<std::uint64_t>(n);
      else if (key == "gather")
        ok = as_int(w.gather, 0, 1'000'000);
      else if (key == "outage") {
        w.outage = val == "error" ? kOutageError : val == "stall" ? kOutageStall : kNoOutage;
        ok = w.outage != kNoOutage;
      } else if (key == "outage_at_ms")
        ok = as_int(w.outage_at_ms, 0, INT64_MAX);
      else if (key == "outage_ms")
        ok = as_int(w.outage_ms, 0, INT64_MAX);
      if (!ok) {
        if (error) *error = "bad value for " + std::string(key);
        return std::nullopt;
      }
    }
    return w;
  }
};

}  // namespace wb
