// Numbers as text, for every table the project prints (the chapters' side-by-side tables, the
// runner's check, compare and claims).  One place, so the same value reads the same everywhere;
// scripts/wbmodel.py follows the same rules for the charts and the report.
#pragma once

#include <string>

namespace wb {

// "12.3 us", "4.56 ms", "1.234 s".
std::string human_seconds(double s);
// "512 KiB", "4.1 MiB", "1.25 GiB".
std::string human_kib(double kib);
// A measured number: four significant digits, no exponent between 1e-3 and 1e9.
std::string human_number(double v);
// A count: the whole number when it is one ("10000"), else four significant digits.
std::string human_count(double v);
// printf-style, for one number ("%.2fx").
std::string format_number(const char* format, double v);
// Every digit a double holds (17 significant): a value handed to another process unchanged.
std::string exact_number(double v);

}  // namespace wb
