// Which server a client reaches: balancing, tcp-request rules, use_backend conditions, disabled and
// backup servers. Each backend server names itself, so the client sees who answered.
#include <doctest/doctest.h>

#include "harness.hh"

namespace t = skjold::test;
using t::who_answers;
using namespace std::chrono_literals;
using End = t::Received::End;

namespace {

// What a client from `from_ip` gets: the connect error, or what it read and how that ended.
struct Answer {
    std::string connect_error;  // "" when connected
    t::Received got;
};

Answer answer_from(const t::Address& at, std::string_view from_ip = {}) {
    auto conn = t::Connection::open(at, from_ip);
    if (!conn.connected()) return {conn.error(), {}};
    return {{}, conn.recv_all(5s)};
}


}  // namespace

TEST_SUITE_BEGIN("tcp");

TEST_CASE("roundrobin alternates between two servers") {
    t::Tempdir dir;
    t::TcpAnswerServer a("a"), b("b");
    // One worker: round-robin cursors are per worker, so strict alternation holds only with one.
    auto lb = t::start_with_config(dir, "global\n    nbthread 1\n" + std::string(t::kTcpDefaults) +
                                            t::fill("frontend fe\n"
                                                    "    bind 127.0.0.1:0\n"
                                                    "    default_backend be\n"
                                                    "backend be\n"
                                                    "    balance roundrobin\n"
                                                    "    server a ${A}\n"
                                                    "    server b ${B}\n",
                                                    {{"A", a.address().to_string()}, {"B", b.address().to_string()}}));
    std::string seq;
    for (int i = 0; i < 8; ++i) seq += who_answers(lb.listener("fe"));
    INFO("servers in order: " << seq);
    CHECK((seq == "abababab" || seq == "babababa"));
    CHECK(a.accepted() == 4);
    CHECK(b.accepted() == 4);
    CHECK(lb.stop() == 0);
}

TEST_CASE("tcp-request connection reject turns 127.0.0.2 away and serves 127.0.0.3") {
    t::Tempdir dir;
    t::TcpAnswerServer s("served\n");
    auto lb = t::start_with_config(dir, std::string(t::kTcpDefaults) +
                                            t::fill("frontend fe\n"
                                                    "    bind 127.0.0.1:0\n"
                                                    "    tcp-request connection reject if { src 127.0.0.2 }\n"
                                                    "    default_backend be\n"
                                                    "backend be\n"
                                                    "    server s ${S}\n",
                                                    {{"S", s.address().to_string()}}));
    // A rejected client is closed without a byte, by FIN or by reset; a reset can even arrive
    // before connect() reports success (HAProxy does that), so a reset connect counts as closed.
    auto rejected = answer_from(lb.listener("fe"), "127.0.0.2");
    INFO("the client from 127.0.0.2: connect error '" << rejected.connect_error << "', read '"
                                                      << rejected.got.data << "', ended by " << rejected.got.end);
    if (rejected.connect_error.empty()) {
        CHECK(rejected.got.data.empty());      // not a byte from the server
        CHECK(rejected.got.end != End::timeout);  // closed, not left hanging
    } else {
        CHECK(rejected.connect_error.find("reset") != std::string::npos);
    }
    CHECK(s.accepted() == 0);        // and the server never saw it
    CHECK(who_answers(lb.listener("fe"), "127.0.0.3") == "served\n");
    CHECK(s.accepted() == 1);
    CHECK(lb.stop() == 0);
}

TEST_CASE("use_backend with a src acl sends one client network to its own backend") {
    t::Tempdir dir;
    t::TcpAnswerServer main("main"), five("five");
    auto lb = t::start_with_config(dir, std::string(t::kTcpDefaults) +
                                            t::fill("frontend fe\n"
                                                    "    bind 127.0.0.1:0\n"
                                                    "    acl from_five src 127.0.0.5 127.0.5.0/24\n"
                                                    "    use_backend five if from_five\n"
                                                    "    default_backend main\n"
                                                    "backend main\n"
                                                    "    server m ${M}\n"
                                                    "backend five\n"
                                                    "    server f ${F}\n",
                                                    {{"M", main.address().to_string()},
                                                     {"F", five.address().to_string()}}));
    CHECK(who_answers(lb.listener("fe"), "127.0.0.5") == "five");
    CHECK(who_answers(lb.listener("fe"), "127.0.5.9") == "five");
    CHECK(who_answers(lb.listener("fe"), "127.0.0.6") == "main");
    CHECK(who_answers(lb.listener("fe"), "127.0.0.1") == "main");
    CHECK(lb.stop() == 0);
}

TEST_CASE("use_backend with a dst_port acl picks the backend by the port the client reached") {
    t::Tempdir dir;
    t::TcpAnswerServer main("main"), special("special");
    auto port = t::free_port();
    auto lb = t::start_with_config(dir, std::string(t::kTcpDefaults) +
                                            t::fill("frontend fe\n"
                                                    "    bind 127.0.0.1:${PORT} name fixed\n"
                                                    "    bind 127.0.0.1:0 name any\n"
                                                    "    use_backend special if { dst_port ${PORT} }\n"
                                                    "    use_backend main unless { dst_port ${PORT} }\n"
                                                    "backend main\n"
                                                    "    server m ${M}\n"
                                                    "backend special\n"
                                                    "    server s ${S}\n",
                                                    {{"PORT", std::to_string(port)},
                                                     {"M", main.address().to_string()},
                                                     {"S", special.address().to_string()}}));
    CHECK(lb.listener("fe", "fixed").port() == port);
    CHECK(lb.listener("fe", "any").port() != port);
    CHECK(who_answers(lb.listener("fe", "fixed")) == "special");
    CHECK(who_answers(lb.listener("fe", "any")) == "main");
    CHECK(lb.stop() == 0);
}

TEST_CASE("a disabled server never gets traffic") {
    t::Tempdir dir;
    t::TcpAnswerServer off("off"), on("on");
    auto lb = t::start_with_config(dir, std::string(t::kTcpDefaults) +
                                            t::fill("listen fe\n"
                                                    "    bind 127.0.0.1:0\n"
                                                    "    balance roundrobin\n"
                                                    "    server off ${OFF} disabled\n"
                                                    "    server on ${ON}\n",
                                                    {{"OFF", off.address().to_string()},
                                                     {"ON", on.address().to_string()}}));
    for (int i = 0; i < 6; ++i) CHECK(who_answers(lb.listener("fe")) == "on");
    CHECK(off.accepted() == 0);
    CHECK(lb.stop() == 0);
}

TEST_CASE("a backup server gets no traffic while a normal server is usable") {
    t::Tempdir dir;
    t::TcpAnswerServer primary("primary"), spare("spare");
    auto lb = t::start_with_config(dir, std::string(t::kTcpDefaults) +
                                            t::fill("listen fe\n"
                                                    "    bind 127.0.0.1:0\n"
                                                    "    server spare ${SPARE} backup\n"
                                                    "    server primary ${PRIMARY}\n",
                                                    {{"SPARE", spare.address().to_string()},
                                                     {"PRIMARY", primary.address().to_string()}}));
    for (int i = 0; i < 4; ++i) CHECK(who_answers(lb.listener("fe")) == "primary");
    CHECK(spare.accepted() == 0);
    CHECK(lb.stop() == 0);
}

TEST_CASE("nbsrv sends clients elsewhere when a backend has no usable server") {
    t::Tempdir dir;
    t::TcpAnswerServer idle("primary"), fallback("fallback");
    auto lb = t::start_with_config(dir, std::string(t::kTcpDefaults) +
                                            t::fill("frontend fe\n"
                                                    "    bind 127.0.0.1:0\n"
                                                    "    acl primary_down nbsrv(primary) lt 1\n"
                                                    "    use_backend fallback if primary_down\n"
                                                    "    default_backend primary\n"
                                                    "backend primary\n"
                                                    "    server p ${P} disabled\n"
                                                    "backend fallback\n"
                                                    "    server f ${F} weight 10 maxconn 100\n",
                                                    {{"P", idle.address().to_string()},
                                                     {"F", fallback.address().to_string()}}));
    CHECK(who_answers(lb.listener("fe")) == "fallback");
    CHECK(who_answers(lb.listener("fe")) == "fallback");
    CHECK(idle.accepted() == 0);
    CHECK(lb.stop() == 0);
}

TEST_SUITE_END();
