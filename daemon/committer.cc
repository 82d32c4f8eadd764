#include "daemon/committer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

#include "daemon/thread_name.h"

namespace bw {

Committer::Committer(Journal& journal, size_t max_group, std::function<void()> on_completion)
    : journal_(journal),
      max_group_(std::max<size_t>(max_group, 1)),
      on_completion_(std::move(on_completion)),
      thread_([this] { Run(); }) {}

Committer::~Committer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  thread_.join();
}

uint64_t Committer::Enqueue(JournalEntry entry) {
  uint64_t ticket;
  {
    std::lock_guard lock(mu_);
    ticket = next_ticket_++;
    queue_.emplace_back(ticket, std::move(entry));
    ++stats_.queued;
    stats_.deepest_queue = std::max<int64_t>(stats_.deepest_queue, static_cast<int64_t>(queue_.size()));
  }
  work_cv_.notify_one();
  return ticket;
}

std::optional<Committer::Completion> Committer::TakeCompleted() {
  std::lock_guard lock(mu_);
  if (done_.empty()) return std::nullopt;
  Completion c = std::move(done_.front());
  done_.pop_front();
  return c;
}

void Committer::WaitIdle() {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [this] { return queue_.empty() && committing_ == 0; });
}

void Committer::Resume() {
  std::lock_guard lock(mu_);
  refusing_ = false;
}

bool Committer::refusing() const {
  std::lock_guard lock(mu_);
  return refusing_;
}

Committer::Stats Committer::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void Committer::Run() {
  NameThisThread("bw-commit");
  for (;;) {
    std::vector<std::pair<uint64_t, JournalEntry>> group;
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      if (refusing_) {
        // Behind a refused entry: back unchanged, in order, until the loop resumes.
        while (!queue_.empty()) {
          done_.push_back(Completion{queue_.front().first, std::move(queue_.front().second),
                                     refusal_, {}});
          queue_.pop_front();
          --stats_.queued;
        }
        idle_cv_.notify_all();
        lock.unlock();
        on_completion_();
        continue;
      }
      while (!queue_.empty() && group.size() < max_group_) {
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      committing_ = group.size();
    }
    std::vector<JournalEntry*> entries;
    entries.reserve(group.size());
    for (auto& [ticket, entry] : group) entries.push_back(&entry);
    GroupCommit result = journal_.CommitGroup(entries);
    {
      std::lock_guard lock(mu_);
      for (size_t i = 0; i < group.size(); ++i) {
        Completion c{group[i].first, std::move(group[i].second), Status::Ok(), {}};
        if (i < result.committed.size()) {
          c.committed = std::move(result.committed[i]);
        } else {
          c.status = result.status;
        }
        done_.push_back(std::move(c));
      }
      stats_.queued -= static_cast<int64_t>(group.size());
      if (!result.committed.empty()) {
        ++stats_.groups;
        stats_.entries += static_cast<int64_t>(result.committed.size());
        stats_.largest_group =
            std::max<int64_t>(stats_.largest_group, static_cast<int64_t>(result.committed.size()));
      }
      if (result.committed.size() < group.size()) {
        ++stats_.refused_groups;
        refusing_ = true;
        refusal_ = result.status;
        // Everything queued behind the refused group is refused with it, in order.
        while (!queue_.empty()) {
          done_.push_back(Completion{queue_.front().first, std::move(queue_.front().second),
                                     refusal_, {}});
          queue_.pop_front();
          --stats_.queued;
        }
      }
      committing_ = 0;
      idle_cv_.notify_all();
    }
    on_completion_();
  }
}

}  // namespace bw
