#include "common/format.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>

namespace wb {

std::string format_number(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string human_seconds(double s) {
  if (s < 1e-3) return format_number("%.1f us", s * 1e6);
  if (s < 1.0) return format_number("%.2f ms", s * 1e3);
  return format_number("%.3f s", s);
}

std::string human_kib(double kib) {
  if (kib < 1024) return format_number("%.0f KiB", kib);
  if (kib < 1024 * 1024) return format_number("%.1f MiB", kib / 1024);
  return format_number("%.2f GiB", kib / 1024 / 1024);
}

std::string human_number(double v) {
  if (v != 0 && (std::fabs(v) >= 1e9 || std::fabs(v) < 1e-3)) return format_number("%.3g", v);
  if (std::fabs(v) >= 1e4) return format_number("%.0f", v);
  return format_number("%.4g", v);
}

std::string human_count(double v) {
  if (std::fabs(v) >= 1e15 || v != std::floor(v)) return format_number("%.4g", v);
  return format_number("%.0f", v);
}

std::string exact_number(double v) {
  std::ostringstream ss;
  ss.precision(17);
  ss << v;
  return ss.str();
}

}  // namespace wb
