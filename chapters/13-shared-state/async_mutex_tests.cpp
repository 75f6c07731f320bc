// The asynchronous mutex of chapter 13 (async_mutex.hpp), on its own: it excludes, it hands the
// lock to waiters in the order they queued, and it resumes each on the waiter's own executor.
#include <atomic>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "chapters/13-shared-state/async_mutex.hpp"

namespace asio = boost::asio;
using shared_state::AsyncMutex;

TEST_CASE("the async mutex keeps coroutines on four threads from tearing a plain counter", "[shared-state]") {
  // Each update reads the counter, suspends (a post: another task runs on this thread), and
  // writes what it read plus one.  Without exclusion, updates are lost as soon as two overlap;
  // the suspension inside the critical section makes the lock taken when others arrive, so the
  // queue and the hand-over are certain to be used (counted below), not left to speed.
  asio::io_context io(4);
  AsyncMutex mutex;
  std::int64_t counter = 0;  // plain: the mutex is all that guards it
  std::atomic<int> queued{0};
  constexpr int kTasks = 16, kUpdates = 200;
  auto task = [&]() -> asio::awaitable<void> {
    for (int k = 0; k < kUpdates; ++k) {
      if (!mutex.try_lock()) {
        queued.fetch_add(1, std::memory_order_relaxed);
        co_await mutex.async_lock(asio::use_awaitable);
      }
      const std::int64_t seen = counter;
      co_await asio::post(io, asio::use_awaitable);  // suspended holding the lock
      counter = seen + 1;
      mutex.unlock();
    }
  };
  for (int t = 0; t < kTasks; ++t) asio::co_spawn(io, task(), asio::detached);
  std::vector<std::jthread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([&] { io.run(); });
  threads.clear();  // joins
  CHECK(counter == kTasks * kUpdates);
  CHECK(queued.load() > 0);
  CHECK(mutex.try_lock());  // free again at the end
}

TEST_CASE("the async mutex hands the lock to its waiters in the order they queued", "[shared-state]") {
  asio::io_context io;
  AsyncMutex mutex;
  REQUIRE(mutex.try_lock());  // held by the test, so every task below must queue
  std::vector<int> order;
  auto task = [&](int me) -> asio::awaitable<void> {
    co_await mutex.async_lock(asio::use_awaitable);
    order.push_back(me);
    co_await asio::post(io, asio::use_awaitable);  // hold it across a suspension
    mutex.unlock();
  };
  for (int me = 0; me < 5; ++me) asio::co_spawn(io, task(me), asio::detached);
  io.poll();  // each task runs up to its co_await and queues
  REQUIRE(mutex.waiting() == 5);
  CHECK(order.empty());
  mutex.unlock();  // to task 0, which passes it on when done
  io.run();
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
  CHECK(mutex.waiting() == 0);
  CHECK(mutex.try_lock());
}

TEST_CASE("a waiter is resumed on its own executor, not on the thread that unlocks", "[shared-state]") {
  asio::io_context holder_io, waiter_io;
  AsyncMutex mutex;
  REQUIRE(mutex.try_lock());
  std::atomic<bool> got{false};
  std::thread::id resumed_on;
  asio::co_spawn(
      waiter_io,
      [&]() -> asio::awaitable<void> {
        co_await mutex.async_lock(asio::use_awaitable);
        resumed_on = std::this_thread::get_id();
        got = true;
        mutex.unlock();
      },
      asio::detached);
  waiter_io.poll();  // queued now
  REQUIRE(mutex.waiting() == 1);
  std::thread::id unlocked_on;
  asio::post(holder_io, [&] {
    unlocked_on = std::this_thread::get_id();
    mutex.unlock();
  });
  std::jthread holder([&] { holder_io.run(); });
  holder.join();
  CHECK_FALSE(got.load());  // the unlock only posted the hand-over to waiter_io
  waiter_io.run();          // on this thread
  CHECK(got.load());
  CHECK(resumed_on == std::this_thread::get_id());
  CHECK(resumed_on != unlocked_on);
}
