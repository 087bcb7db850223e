#include <doctest/doctest.h>

#include <set>

#include "core/buffer_ring.hh"
#include "core/mailbox.hh"
#include "core/ring.hh"
#include "core/slab.hh"
#include "core/sock_addr.hh"

using namespace skjold::core;

TEST_CASE("user_data packs op, slot and generation and unpacks them unchanged") {
    auto v = UserData::pack(7, 0xABCDEF, 0xDEADBEEF);
    auto u = UserData::unpack(v);
    CHECK(u.op == 7);
    CHECK(u.slot == 0xABCDEF);
    CHECK(u.gen == 0xDEADBEEF);
}

TEST_CASE("a slab reuses released slots with a new generation and respects its maximum") {
    Slab<int, 4> slab(8);
    std::set<std::uint32_t> got;
    for (int i = 0; i < 8; ++i) {
        auto s = slab.acquire();
        REQUIRE(s != Slab<int, 4>::kNone);
        got.insert(s);
    }
    CHECK(got.size() == 8);
    CHECK(slab.acquire() == Slab<int, 4>::kNone);
    std::uint32_t s0 = *got.begin();
    auto g0 = slab.gen(s0);
    CHECK(slab.live(s0, g0));
    slab.release(s0);
    CHECK_FALSE(slab.live(s0, g0));
    auto again = slab.acquire();
    CHECK(again == s0);
    CHECK(slab.gen(again) != g0);
    CHECK(slab.in_use() == 8);
}

TEST_CASE("the mailbox delivers messages in order and refuses when full") {
    Mailbox mb;
    for (std::uint32_t i = 0; i < Mailbox::kCapacity; ++i) CHECK(mb.post({1, i, nullptr}));
    CHECK_FALSE(mb.post({1, 999, nullptr}));
    Message m;
    for (std::uint32_t i = 0; i < Mailbox::kCapacity; ++i) {
        REQUIRE(mb.pop(m));
        CHECK(m.arg == i);
    }
    CHECK_FALSE(mb.pop(m));
}

TEST_CASE("a buffer queue hands bytes out in order and recycles consumed buffers") {
    Ring ring;
    auto r = ring.init(64);
    if (!r) {
        MESSAGE("io_uring unavailable: " << describe(r.error()));
        return;
    }
    BufferRing br;
    REQUIRE(br.init(ring, 3, 8, 4096).has_value());
    CHECK(br.available() == 8);
    BufferQueue q;
    br.taken();
    q.push(br, 2, 100);
    br.taken();
    q.push(br, 5, 50);
    CHECK(q.bytes == 150);
    CHECK(br.available() == 6);
    q.consume(br, 60);              // part of the first buffer
    CHECK(q.head == 2);
    CHECK(br.meta(2).off == 60);
    q.consume(br, 40);              // the rest of it: recycled
    CHECK(q.head == 5);
    CHECK(br.available() == 7);
    q.clear(br);
    CHECK(q.empty());
    CHECK(q.bytes == 0);
    CHECK(br.available() == 8);
}

TEST_CASE("socket addresses parse as HAProxy writes them") {
    auto a = parse_sock_addr("127.0.0.1:8080");
    REQUIRE(a.has_value());
    CHECK(a->to_string() == "127.0.0.1:8080");
    auto any = parse_sock_addr("*:80");
    REQUIRE(any.has_value());
    CHECK(any->to_string() == "0.0.0.0:80");
    auto v6 = parse_sock_addr(":::443");
    REQUIRE(v6.has_value());
    CHECK(v6->to_string() == "[::]:443");
    auto v6b = parse_sock_addr("[::1]:9000");
    REQUIRE(v6b.has_value());
    CHECK(v6b->to_string() == "[::1]:9000");
    auto v6c = parse_sock_addr("2001:db8::1:80");
    REQUIRE(v6c.has_value());
    CHECK(v6c->to_string() == "[2001:db8::1]:80");
    auto un = parse_sock_addr("unix@/tmp/x.sock");
    REQUIRE(un.has_value());
    CHECK(un->is_unix());
    CHECK(un->to_string() == "unix@/tmp/x.sock");
    CHECK_FALSE(parse_sock_addr("127.0.0.1").has_value());          // port required
    CHECK_FALSE(parse_sock_addr("127.0.0.1:99999").has_value());
    CHECK_FALSE(parse_sock_addr("127.0.0.1:http").has_value());
    CHECK(parse_sock_addr("10.0.0.1", PortRule::optional).has_value());
}
