#include "conf/acl_expr_parse.hh"

#include <charconv>

#include "conf/fetch_registry.hh"

namespace skjold::conf {

namespace {

struct Call {
    std::string name;
    std::vector<std::string> args;
};

std::string plural(unsigned n) { return n == 1 ? " argument" : " arguments"; }

// Reads NAME[(ARGS)] at `pos`; leaves `pos` after it.
core::Result<Call, std::string> read_call(std::string_view text, std::size_t& pos, const char* what) {
    Call c;
    std::size_t start = pos;
    while (pos < text.size() && text[pos] != '(' && text[pos] != ',') ++pos;
    c.name = std::string(text.substr(start, pos - start));
    if (pos < text.size() && text[pos] == '(') {
        auto close = text.find(')', pos);
        if (close == std::string_view::npos)
            return core::Unexpected{std::string(what) + " '" + c.name + "' : expected ')'"};
        std::string_view inner = text.substr(pos + 1, close - pos - 1);
        if (!inner.empty()) {
            std::size_t b = 0;
            while (true) {
                auto comma = inner.find(',', b);
                c.args.emplace_back(inner.substr(b, comma == std::string_view::npos ? std::string_view::npos : comma - b));
                if (comma == std::string_view::npos) break;
                b = comma + 1;
            }
        }
        pos = close + 1;
        if (pos < text.size() && text[pos] != ',')
            return core::Unexpected{std::string(what) + " '" + c.name + "' : missing comma after '" +
                                    std::string(text.substr(0, pos)) + "'"};
    }
    return c;
}

std::optional<std::string> check_count(const Call& c, unsigned min, unsigned max, const char* what) {
    auto n = static_cast<unsigned>(c.args.size());
    if (n > max) {
        if (max == 0) return std::string(what) + " '" + c.name + "' takes no argument (got " + std::to_string(n) + ")";
        return std::string(what) + " '" + c.name + "' takes at most " + std::to_string(max) + plural(max) + " (got " +
               std::to_string(n) + ")";
    }
    if (n < min)
        return std::string(what) + " '" + c.name + "' requires " + (min == max ? "" : "at least ") + std::to_string(min) +
               plural(min) + " (got " + std::to_string(n) + ")";
    return std::nullopt;
}

}  // namespace

core::Result<ParsedExpr, std::string> parse_acl_expression(std::string_view text) {
    const std::string in = " in ACL expression '" + std::string(text) + "'";
    auto fail = [&](std::string msg) { return core::Unexpected{msg + in}; };

    std::size_t pos = 0;
    auto call = read_call(text, pos, "fetch method");
    if (!call) return fail(call.error());
    if (call->name.empty()) return fail("missing fetch method");
    const FetchDef* def = find_fetch(call->name);
    if (def == nullptr) return fail("unknown fetch method '" + call->name + "'");
    if (auto err = check_count(*call, def->min_args, def->max_args, "fetch method")) return fail(*err);

    ParsedExpr out;
    out.keyword = call->name;
    out.fetch.id = def->id;
    out.needs_http = def->http;
    for (std::size_t a = 0; a < call->args.size(); ++a) {
        const std::string& v = call->args[a];
        switch (def->args[a]) {
        case ArgKind::integer: {
            int n = 0;
            auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
            if (v.empty() || ec != std::errc{} || p != v.data() + v.size())
                return fail("fetch method '" + call->name + "' : failed to parse '" + v + "' as type 'integer' at position " +
                            std::to_string(a + 1));
            out.fetch.occ = n;
            break;
        }
        case ArgKind::server:
            if (v.empty()) return fail("fetch method '" + call->name + "' : missing server name");
            out.fetch.arg = v;
            break;
        default:
            out.fetch.arg = v;
            break;
        }
    }

    SampleType type = def->type;
    while (pos < text.size()) {
        ++pos;   // the ','
        auto conv = read_call(text, pos, "converter");
        if (!conv) return fail(conv.error());
        if (conv->name.empty()) return fail("missing converter name after ','");
        const ConverterDef* cdef = find_converter(conv->name);
        if (cdef == nullptr) return fail("unknown converter '" + conv->name + "'");
        if (auto err = check_count(*conv, cdef->min_args, cdef->max_args, "converter")) return fail(*err);
        if (cdef->in == SampleType::ip && type == SampleType::boolean)
            return fail("converter '" + conv->name + "' cannot be applied to the boolean output of '" + call->name + "'");
        if (cdef->geo) {
            if (conv->args[0].empty())
                return fail("converter '" + conv->name + "' : missing " +
                            (cdef->id == ConverterId::map_ip ? "map file name" : "database name"));
            out.uses_geo = true;
        }
        out.converters.push_back(ConverterCall{cdef->id, std::move(conv->args), -1});
        type = cdef->out;
    }
    out.type = type;
    out.method = out.converters.empty() ? def->method : default_method(type);
    return out;
}

}  // namespace skjold::conf
