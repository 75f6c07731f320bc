// Live and peak counts of the threads this process made with pthread_create (see the .cpp for
// how).  Used by ResourceMeter; chapters never call it.
#pragma once

namespace wb {

bool thread_census_active();  // false in builds where the count cannot be taken (clang + sanitizer)
void thread_census_reset();   // peak := live
long thread_census_peak();

}  // namespace wb
