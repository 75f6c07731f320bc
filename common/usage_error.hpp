// Input the user can fix — an option out of range, a directory that does not exist, a file of
// another schema — is thrown as UsageError and ends the program with exit code 2 and the
// message.  The chapters and the runner share it.
#pragma once

#include <stdexcept>

namespace wb {

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace wb
