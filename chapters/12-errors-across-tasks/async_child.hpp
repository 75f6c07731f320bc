// Chapter 12 — what async.cpp shares with async_extras.cpp, the two async variants that have
// no blocking twin (co-spawn-rethrow, as-tuple).  Asio stays out of scenario.hpp.
#pragma once

#include <system_error>

#include <boost/asio/awaitable.hpp>

#include "chapters/12-errors-across-tasks/scenario.hpp"

namespace errors_across_tasks {

// A child: attempts, retrying a transient failure; its failure leaves it thrown or returned.
boost::asio::awaitable<std::error_code> run_child(Children& children, std::int64_t child);

// co-spawn-rethrow: a handler rethrows out of io_context::run(), and the loop stops.
void rethrow_from_the_loop(Children& children);
// as-tuple: a waiter per child reads its outcome as a value; nothing is thrown anywhere.
void as_values(Children& children);

}  // namespace errors_across_tasks
