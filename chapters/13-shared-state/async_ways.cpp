// Chapter 13 — the async ways without a blocking twin of their own: `strand` (the update moves
// onto the state's strand), `actor` (the state belongs to one coroutine; tasks send it updates)
// and `channel-lock` (a channel of capacity 1 as the lock).  async.cpp runs them exactly as it
// runs `async-mutex`.
#include <stdexcept>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "chapters/13-shared-state/async_ways.hpp"

namespace asio = boost::asio;
using asio::use_awaitable;
using boost::system::error_code;

namespace shared_state {

namespace {

// strand: the update is posted to the state's strand (one handler at a time): the task moves
// there, updates, and its next update posts again.
class StrandWay final : public AsyncWay {
 public:
  StrandWay(asio::io_context& io, const Workload& workload) : workload_(workload) {
    for (std::int64_t o = 0; o < workload.owners(); ++o) strands_.push_back(asio::make_strand(io));
  }

  asio::awaitable<void> update(std::vector<std::int64_t>& state, std::int64_t task, Op op) override {
    co_await asio::post(asio::bind_executor(strands_[static_cast<std::size_t>(workload_.owner(task))], use_awaitable));
    apply_op(state, op);  // on the strand: no other update of this state runs now
  }

 private:
  const Workload& workload_;
  std::vector<asio::strand<asio::io_context::executor_type>> strands_;
};

// actor: the state belongs to one owner coroutine; a task sends it the update through a channel
// (suspending only while the mailbox is full) and goes on.
class ActorWay final : public AsyncWay {
 public:
  using Mailbox = asio::experimental::concurrent_channel<void(error_code, Op)>;

  ActorWay(asio::io_context& io, const Params& params, const Workload& workload)
      : io_(io), params_(params), workload_(workload) {
    for (std::int64_t o = 0; o < workload.owners(); ++o) mailboxes_.push_back(std::make_unique<Mailbox>(io, 256));
  }

  asio::awaitable<void> update(std::vector<std::int64_t>& /*state*/, std::int64_t task, Op op) override {
    auto& mailbox = *mailboxes_[static_cast<std::size_t>(workload_.owner(task))];
    if (mailbox.try_send(error_code{}, op)) co_return;
    waits.fetch_add(1, std::memory_order_relaxed);
    co_await mailbox.async_send(error_code{}, op, use_awaitable);
  }

  void start(std::vector<std::int64_t>& state, wb::FirstError& error) override {
    for (std::int64_t o = 0; o < workload_.owners(); ++o) asio::co_spawn(io_, owner(state, o), error.handler());
  }

 private:
  // The owner applies every update its tasks send, then ends.
  asio::awaitable<void> owner(std::vector<std::int64_t>& state, std::int64_t o) {
    const auto expected = params_.ops * (workload_.owners() == 1 ? params_.tasks : 1);
    for (std::int64_t i = 0; i < expected; ++i) {
      const Op op = co_await mailboxes_[static_cast<std::size_t>(o)]->async_receive(use_awaitable);
      apply_op(state, op);
    }
  }

  asio::io_context& io_;
  const Params& params_;
  const Workload& workload_;
  std::vector<std::unique_ptr<Mailbox>> mailboxes_;
};

// channel-lock: a concurrent_channel of capacity 1 as the lock, the usual stand-in where a
// library has no async mutex: async_send acquires (suspends while another holds it),
// try_receive releases — every one of them under the channel's own mutex.
class ChannelLockWay final : public AsyncWay {
 public:
  using Lock = asio::experimental::concurrent_channel<void(error_code)>;

  ChannelLockWay(asio::io_context& io, const Workload& workload) : workload_(workload) {
    for (std::int64_t o = 0; o < workload.owners(); ++o) locks_.push_back(std::make_unique<Lock>(io, 1));
  }

  asio::awaitable<void> update(std::vector<std::int64_t>& state, std::int64_t task, Op op) override {
    auto& lock = *locks_[static_cast<std::size_t>(workload_.owner(task))];
    if (!lock.try_send(error_code{})) {  // the channel has room: taken, no suspension
      waits.fetch_add(1, std::memory_order_relaxed);
      co_await lock.async_send(error_code{}, use_awaitable);  // full: suspend until a receive
    }
    apply_op(state, op);
    lock.try_receive([](error_code) {});
  }

 private:
  const Workload& workload_;
  std::vector<std::unique_ptr<Lock>> locks_;
};

}  // namespace

std::unique_ptr<AsyncWay> other_async_way(const std::string& variant, asio::io_context& io, const Params& params,
                                          const Workload& workload) {
  if (variant == "strand") return std::make_unique<StrandWay>(io, workload);
  if (variant == "actor") return std::make_unique<ActorWay>(io, params, workload);
  if (variant == "channel-lock") return std::make_unique<ChannelLockWay>(io, workload);
  throw std::logic_error("no async way named " + variant);
}

}  // namespace shared_state
