// Chapter 00 — the same units on asio::io_context: what the library does for async.cpp's loop.
// An asio::awaitable is a coroutine whose frame Asio allocates (and recycles); co_spawn starts
// it; an experimental::channel is the turn (a unit waits in async_receive, the other's try_send
// makes it ready); a steady_timer is a parked unit's timer.  The io_context is the loop — a
// queue of ready handlers and a timer queue, with epoll_wait where async.cpp sleeps.
#include <array>
#include <stdexcept>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "chapters/00-how-a-coroutine-waits/scenario.hpp"
#include "common/first_error.hpp"

namespace asio = boost::asio;

namespace how_a_coroutine_waits {

namespace {

using Inbox = asio::experimental::channel<void(boost::system::error_code)>;

// One unit of the ping-pong: waits for its turn (a message in its inbox), takes it, passes it on.
asio::awaitable<void> unit(Inbox* inbox, int me, const Params& params, Measured& m) {
  for (std::int64_t k = 0; k < params.round_trips; ++k) {
    wb::event(me, "ready? is it my turn");
    if (!inbox[me].ready()) wb::event(me, "wait for the turn: park");
    co_await inbox[me].async_receive(asio::use_awaitable);  // suspends until the other's try_send
    wb::event(me, "resumed: my turn");
    m.take_turn(k, me);
    inbox[1 - me].try_send(boost::system::error_code{});
  }
}

// A parked unit: waits on a timer far in the future, until it is woken (cancelled).  --keep as
// in async.cpp.
template <bool before, bool across>
asio::awaitable<void> sleeper(std::vector<asio::steady_timer*>& timers, Clock::time_point far, std::int64_t id,
                              Measured& m) {
  char kept = 0;
  if constexpr (before) {
    std::array<char, kScratch> scratch;
    kept = touch(scratch.data(), scratch.size(), id);
  }
  asio::steady_timer timer(co_await asio::this_coro::executor, far);
  timers[static_cast<std::size_t>(id - 2)] = &timer;
  wb::event(id, "wait for the timer");
  if constexpr (across) {
    std::array<char, kScratch> scratch;
    touch(scratch.data(), scratch.size(), id);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));  // woken: operation_aborted
    kept = scratch[static_cast<std::size_t>(id) % kScratch];
  } else {
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));  // woken: operation_aborted
  }
  wb::event(id, "resumed: woken");
  ++m.woken;
  m.kept += kept;
}

asio::awaitable<void> start_sleeper(const Params& params, std::vector<asio::steady_timer*>& timers,
                                    Clock::time_point far, std::int64_t id, Measured& m) {
  if (params.keep == "4-kib-before") return sleeper<true, false>(timers, far, id, m);
  if (params.keep == "4-kib-across") return sleeper<false, true>(timers, far, id, m);
  return sleeper<false, false>(timers, far, id, m);
}

}  // namespace

wb::Outcome run_asio(const Params& params, const Workload& /*workload*/, wb::Run& run) {
  if (params.pin == "one-core") wb::pin_to_first_cpu();
  Measured m;
  wb::FirstError error;
  asio::io_context io(1);

  Inbox inbox[2] = {Inbox(io, 1), Inbox(io, 1)};  // room for one turn each
  for (int me = 0; me < 2; ++me) asio::co_spawn(io, unit(inbox, me, params, m), error.handler());
  const auto ctx0 = wb::context_switches();
  const auto t0 = Clock::now();
  inbox[0].try_send(boost::system::error_code{});
  io.run();  // the ping-pong is over when both units have returned
  m.switch_s = seconds_since(t0);
  m.ctx = wb::context_switches() - ctx0;
  error.rethrow();

  io.restart();
  const auto far = Clock::now() + std::chrono::hours(1);
  std::vector<asio::steady_timer*> timers(static_cast<std::size_t>(params.parked), nullptr);
  m.rss_before = rss_bytes();
  for (std::int64_t i = 0; i < params.parked; ++i)
    asio::co_spawn(io, start_sleeper(params, timers, far, i + 2, m), error.handler());
  io.poll();  // every sleeper runs to its co_await: parked on its timer
  m.rss_parked = rss_bytes();
  for (auto* t : timers) {
    if (!t) throw std::logic_error("a sleeper had not reached its timer when poll() returned");
    t->cancel();  // its timer fires
  }
  io.run();
  error.rethrow();
  return record(params, run, m);
}

}  // namespace how_a_coroutine_waits
