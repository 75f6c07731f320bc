// Chapter 13 — the blocking ways without an async twin of their own: `atomic` (no lock at all)
// and `sharded` (--shards mutexes, each guarding a share of the slots).  sync.cpp runs them
// exactly as it runs `mutex`.
#include <algorithm>
#include <atomic>
#include <mutex>
#include <stdexcept>

#include "chapters/13-shared-state/scenario.hpp"

namespace shared_state {

namespace {

// atomic: each slot a std::atomic; an update never blocks — the slot's cache line moves between
// cores instead.
class AtomicWay final : public SyncWay {
 public:
  explicit AtomicWay(const Workload& workload) : slots_(static_cast<std::size_t>(workload.slots())) {
    for (auto& slot : slots_) slot = workload.start_balance();
  }

  void update(std::vector<std::int64_t>& /*state*/, std::int64_t /*task*/, const Op& op) override {
    if (op.from >= 0) slots_[static_cast<std::size_t>(op.from)].fetch_sub(op.amount, std::memory_order_relaxed);
    slots_[static_cast<std::size_t>(op.to)].fetch_add(op.amount, std::memory_order_relaxed);
  }
  void finish(std::vector<std::int64_t>& state) override {
    for (std::size_t s = 0; s < state.size(); ++s) state[s] = slots_[s].load();
  }

 private:
  std::vector<std::atomic<std::int64_t>> slots_;
};

// sharded: the shards of both slots, taken in index order so that two transfers cannot deadlock.
class ShardedWay final : public SyncWay {
 public:
  explicit ShardedWay(const Params& params) : shards_(static_cast<std::size_t>(params.shards)) {}

  void update(std::vector<std::int64_t>& state, std::int64_t /*task*/, const Op& op) override {
    const auto n = static_cast<std::int64_t>(shards_.size());
    const auto a = static_cast<std::size_t>(op.to % n);
    const auto b = static_cast<std::size_t>(op.from >= 0 ? op.from % n : op.to % n);
    take(shards_[std::min(a, b)]);
    if (a != b) take(shards_[std::max(a, b)]);
    apply_op(state, op);
    if (a != b) shards_[std::max(a, b)].unlock();
    shards_[std::min(a, b)].unlock();
  }

 private:
  // Takes a lock, counting the times it was taken already.
  void take(std::mutex& m) {
    if (m.try_lock()) return;
    waits.fetch_add(1, std::memory_order_relaxed);
    m.lock();
  }
  std::vector<PaddedMutex> shards_;
};

}  // namespace

std::unique_ptr<SyncWay> other_sync_way(const std::string& variant, const Params& params, const Workload& workload) {
  if (variant == "atomic") return std::make_unique<AtomicWay>(workload);
  if (variant == "sharded") return std::make_unique<ShardedWay>(params);
  throw std::logic_error("no blocking way named " + variant);
}

}  // namespace shared_state
