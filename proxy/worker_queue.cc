// The backend queue of one worker (server `maxconn`, `timeout queue`), for both modes: who
// joins it (tcp: WorkerRuntime::connect_server; http: HttpEngine::assign_server), who leaves it
// (served once a slot frees, expired, aborted) and what the client then sees (HAProxy: 503 with
// termination state sQ in mode http, a close in mode tcp). The FIFO itself is backend_queue.hh.
#include "core/log.hh"
#include "proxy/http_session.hh"
#include "proxy/worker_runtime.hh"

namespace skjold::proxy {

std::int64_t WorkerRuntime::queue_timeout(int backend) const noexcept {
    const auto& to = snap_.proxies[static_cast<std::size_t>(backend)].timeouts;
    return to.queue >= 0 ? to.queue : to.connect;   // HAProxy: timeout connect when unset
}

void WorkerRuntime::enqueue(TcpSession& s) noexcept {
    BackendQueue& q = queues_[static_cast<std::size_t>(s.backend)];
    const std::uint64_t now = worker_->now();
    q.push_back(sessions_, s.slot, now);
    ++queued_total_;
    auto& bc = stats_.proxies[s.backend];
    bc.cur_queue.add();
    note_max(bc.max_queue, bc.cur_queue.read());
    if (s.http == kNoSlot) s.state = TcpState::queued;
    // The session timer is free while it waits: no connect, no retry delay, no transfer yet.
    // (WorkerRuntime has no arm_timer() helper yet: timers().arm as the rest of this file.)
    const std::int64_t t = queue_timeout(s.backend);
    if (t >= 0) worker_->timers().arm(s.timer.node, now + static_cast<std::uint64_t>(t));
    else worker_->timers().cancel(s.timer.node);
}

void WorkerRuntime::dequeue(TcpSession& s) noexcept {
    if (!s.queue.queued) return;
    queues_[static_cast<std::size_t>(s.backend)].remove(sessions_, s.slot);
    --queued_total_;
    stats_.proxies[s.backend].cur_queue.sub();
    worker_->timers().cancel(s.timer.node);
}

void WorkerRuntime::note_queue_time(int backend, int server, std::uint64_t waited) noexcept {
    auto& bc = stats_.proxies[backend];
    bc.qtime_sum.add(waited);
    bc.qtime_n.add();
    auto& sc = stats_.servers[backend][server];
    sc.qtime_sum.add(waited);
    sc.qtime_n.add();
}

// Runs after every completion batch while anything waits, so a slot freed anywhere in the batch
// (a session ending, a transaction ending, a failed connect) goes to the oldest waiting session.
// A newcomer meanwhile queued behind it (queue_waiting), so the order is first come, first served.
void WorkerRuntime::serve_queues() noexcept {
    if (queued_total_ == 0) return;
    for (std::size_t b = 0; b < queues_.size() && queued_total_ != 0; ++b) {
        BackendQueue& q = queues_[b];
        // Bounded: each round takes one session off the queue, or stops.
        while (!q.empty()) {
            TcpSession& s = sessions_[q.front()];
            Balancer& bal = *balancers_[b];
            const int srv = bal.pick(s.src, -1);
            if (srv < 0) {
                if (bal.candidates() > 0) break;   // still full: wait for the next free slot
                // Every server went down or into maintenance while they waited: nothing will free
                // a slot for them; they fail now rather than at timeout queue.
                dequeue(s);
                stats_.proxies[b].no_server.add();
                if (s.http != kNoSlot) http_->queue_failed(s, false);
                else queue_failed(s, false);
                continue;
            }
            const std::uint64_t waited = worker_->now() - s.queue.since;
            dequeue(s);
            note_queue_time(static_cast<int>(b), srv, waited);
            if (s.http != kNoSlot) http_->serve_queued(s, srv);
            else connect_server(s, -1, srv);
        }
    }
}

void WorkerRuntime::queue_failed(TcpSession& s, bool timed_out) noexcept {
    if (timed_out) {
        // HAProxy counts a queue timeout as a connection error of the backend (econ).
        stats_.proxies[s.backend].conn_errors.add();
        stats_.proxies[s.backend].timeouts.add();
    }
    SKJOLD_LOG(debug, "backend {}: {}", snap_.proxies[s.backend].name,
               timed_out ? "timeout queue expired" : "no server left for a queued session");
    set_term(s, timed_out ? 's' : 'S', timed_out ? 'Q' : 'C');
    abort_session(s);
}

// ---------------------------------------------------------------------------------------------
// Mode http: the waiting transaction (HttpPhase::connecting with s.queue.queued).

void HttpEngine::serve_queued(TcpSession& s, int server) noexcept {
    rt_.stats_.proxies[s.backend].lbtot.add();
    rt_.stats_.servers[s.backend][server].lbtot.add();
    use_server(s, hs(s), server, false);
}

void HttpEngine::queue_failed(TcpSession& s, bool timed_out) noexcept {
    HttpSession& h = hs(s);
    if (timed_out) {
        rt_.stats_.proxies[s.backend].conn_errors.add();
        rt_.stats_.proxies[s.backend].timeouts.add();
        rt_.stats_.proxies[s.frontend].timeouts.add();
        // The log's Tw: the time spent waiting (t_assigned - t_head), though no server was assigned.
        h.t_assigned = rt_.worker_->now();
    }
    reply_error(s, h, 503, timed_out ? TermCause::server_timeout : TermCause::server_abort,
                timed_out ? TermPhase::queue : TermPhase::connect);
}

}  // namespace skjold::proxy
