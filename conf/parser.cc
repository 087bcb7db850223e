#include "conf/parser.hh"

#include <array>
#include <algorithm>

#include "conf/condition.hh"
#include "conf/values.hh"

namespace skjold::conf {

namespace {

bool is_section(const std::string& w) {
    return w == "global" || w == "defaults" || w == "frontend" || w == "backend" || w == "listen";
}

// HAProxy section types skjold does not have: reported once, their lines skipped.
bool is_unsupported_section(const std::string& w) {
    static constexpr std::array<std::string_view, 12> k = {
        "userlist", "peers", "resolvers", "mailers", "program", "http-errors",
        "ring", "cache", "fcgi-app", "log-forward", "dynamic-update", "crt-store"};
    return std::find(k.begin(), k.end(), w) != k.end();
}

std::string join(const std::vector<std::string>& w, std::size_t from, std::size_t n) {
    std::string s;
    for (std::size_t i = from; i < from + n && i < w.size(); ++i) s += (s.empty() ? "" : " ") + w[i];
    return s;
}

const char* capability_name(bool frontend) { return frontend ? "frontend" : "backend"; }

}  // namespace

Parser::Parser() : snap_(std::make_unique<Snapshot>()), ctx_(*snap_, errors_, warnings_) {}

void Parser::begin_file(const std::string& path) {
    end_section();
    snap_->files.push_back(path);
}

void Parser::end_file() { end_section(); }

void Parser::end_section() {
    if (cur_defaults_ >= 0) defaults_[static_cast<std::size_t>(cur_defaults_)].has_rules = ctx_.section.has_rules;
    cur_defaults_ = -1;
    cur_proxy_ = -1;
    skipping_ = false;
    ctx_.section = SectionState{};
    ctx_.px = nullptr;
}

Proxy* Parser::current_proxy() {
    if (cur_defaults_ >= 0) return &defaults_[static_cast<std::size_t>(cur_defaults_)].px;
    if (cur_proxy_ >= 0) return &snap_->proxies[static_cast<std::size_t>(cur_proxy_)];
    return nullptr;
}

void Parser::line(const ConfLine& l) {
    const std::string& w0 = l.words[0];
    if (is_section(w0)) {
        start_section(l);
        return;
    }
    if (is_unsupported_section(w0)) {
        end_section();
        errors_.push_back(Diagnostic{l.loc.file, l.loc.line, "section '" + w0 + "' is not supported"});
        skipping_ = true;
        return;
    }
    if (skipping_) return;
    if (ctx_.section.kind == SectionKind::none) {
        errors_.push_back(Diagnostic{l.loc.file, l.loc.line,
                                     "'" + w0 + "' is outside of any section (global, defaults, frontend, backend, listen)"});
        return;
    }
    dispatch(l);
}

int Parser::find_defaults(const std::string& name, const SourceLoc& loc) {
    int found = -1, count = 0;
    for (std::size_t i = 0; i < defaults_.size(); ++i) {
        if (defaults_[i].name == name) {
            found = static_cast<int>(i);
            ++count;
        }
    }
    if (count == 0) {
        errors_.push_back(Diagnostic{loc.file, loc.line, "'from': no defaults section named '" + name + "' before this line"});
        return -1;
    }
    if (count > 1) {
        errors_.push_back(Diagnostic{loc.file, loc.line, "'from': several defaults sections are named '" + name +
                                                             "'; a referenced defaults section needs a unique name"});
        return -1;
    }
    if (!is_valid_name(name)) {
        errors_.push_back(Diagnostic{loc.file, loc.line, "'from': invalid defaults section name '" + name + "'"});
        return -1;
    }
    return found;
}

void Parser::start_section(const ConfLine& l) {
    end_section();
    const auto& w = l.words;
    const std::string& kind = w[0];
    auto err = [&](std::string m) { errors_.push_back(Diagnostic{l.loc.file, l.loc.line, std::move(m)}); };

    if (kind == "global") {
        if (w.size() > 1) err("'global': unexpected argument '" + w[1] + "'");
        ctx_.section.kind = SectionKind::global;
        snap_->global.loc = l.loc;
        return;
    }

    // NAME [from DEFAULTS]; a defaults section's name is optional.
    std::string name, from;
    std::size_t i = 1;
    if (i < w.size() && w[i] != "from") name = w[i++];
    if (i < w.size() && w[i] == "from") {
        if (i + 1 >= w.size()) err("'" + kind + "': 'from' expects a defaults section name");
        else from = w[i + 1];
        i += 2;
    }
    if (i < w.size()) err("'" + kind + "': unexpected argument '" + w[i] + "'");
    int base = from.empty() ? (kind == "defaults" ? -1 : last_defaults_) : find_defaults(from, l.loc);

    if (kind == "defaults") {
        Defaults d;
        d.name = name;
        d.loc = l.loc;
        if (base >= 0) d.px = defaults_[static_cast<std::size_t>(base)].px;
        d.px.loc = l.loc;
        d.px.name = name;
        defaults_.push_back(std::move(d));
        cur_defaults_ = static_cast<int>(defaults_.size()) - 1;
        last_defaults_ = cur_defaults_;
        ctx_.section.kind = SectionKind::defaults;
        ctx_.section.named = !name.empty();
        ctx_.section.has_rules = base >= 0 && defaults_[static_cast<std::size_t>(base)].has_rules;
        return;
    }

    bool fe = kind != "backend", be = kind != "frontend";
    if (name.empty()) err("'" + kind + "' expects a name");
    else if (!is_valid_name(name))
        err("'" + kind + "': invalid name '" + name + "' (letters, digits, '-', '_', '.', ':')");
    // A frontend and a backend may share a name (HAProxy allows it); overlapping capabilities may not.
    for (const auto& p : snap_->proxies) {
        if (!name.empty() && p.name == name && ((fe && p.is_frontend) || (be && p.is_backend))) {
            const char* pk = p.is_frontend && p.is_backend ? "listen" : p.is_frontend ? "frontend" : "backend";
            err("'" + kind + "': " + kind + " '" + name + "' has the same name as " + pk + " '" + name +
                "' declared at " + p.loc.str());
            break;
        }
    }
    Proxy px;
    if (base >= 0) {
        Defaults& d = defaults_[static_cast<std::size_t>(base)];
        px = d.px;
        // Rules of a named defaults section run before the proxy's own; such a section may not
        // serve both sides (HAProxy's rule), so not a listen section.
        if (d.has_rules) {
            if (fe && be)
                err("'listen': a listen section cannot inherit from a defaults section defining TCP/HTTP rules "
                    "(defaults section at " + d.loc.str() + ")");
            else if ((fe && d.used_by_backend) || (be && d.used_by_frontend))
                err("'" + kind + "': frontends and backends cannot inherit from the same defaults section if it "
                    "defines TCP/HTTP rules (defaults section at " + d.loc.str() + ")");
        }
        d.used_by_frontend |= fe;
        d.used_by_backend |= be;
        (from.empty() ? d.used_implicitly : d.used_explicitly) = true;
        if (d.used_implicitly && d.used_explicitly && !d.mix_warned) {
            d.mix_warned = true;
            warnings_.push_back(Diagnostic{l.loc.file, l.loc.line,
                                           "defaults section '" + d.name + "' (" + d.loc.str() +
                                               ") is used both explicitly ('from') and implicitly; to avoid any "
                                               "ambiguity, always use 'from' or add a last defaults section"});
        }
        // ACLs of a defaults section are not visible by name from the proxies using it
        // (HAProxy); they stay, unnamed, so the inherited rules' terms still index them.
        for (auto& a : px.acls) a.name.clear();
        if (!fe) px.tcp_request_connection.clear();
    }
    px.loc = l.loc;
    px.name = name;
    px.is_frontend = fe;
    px.is_backend = be;
    snap_->proxies.push_back(std::move(px));
    cur_proxy_ = static_cast<int>(snap_->proxies.size()) - 1;
    ctx_.section.kind = kind == "frontend" ? SectionKind::frontend : kind == "backend" ? SectionKind::backend
                                                                                      : SectionKind::listen;
}

const KeywordInfo* Parser::find_row(const std::vector<std::string>& w, std::size_t start, std::size_t& nwords) const {
    bool global = ctx_.section.kind == SectionKind::global;
    const KeywordInfo* any = nullptr;
    for (std::size_t n = 2; n >= 1; --n) {
        if (start + n > w.size()) continue;
        std::string name = join(w, start, n);
        for (const auto& k : keyword_table()) {
            if (k.name != name) continue;
            nwords = n;
            // Same name in global and in proxies (maxconn, log): take the row for this section.
            if (((k.sections & kInGlobal) != 0) == global) return &k;
            if (any == nullptr) any = &k;
        }
        if (any != nullptr) return any;
    }
    return nullptr;
}

void Parser::dispatch(const ConfLine& l) {
    const auto& w = l.words;
    bool negated = w[0] == "no";
    std::size_t start = negated ? 1 : 0;
    auto err = [&](std::string m) { errors_.push_back(Diagnostic{l.loc.file, l.loc.line, std::move(m)}); };
    if (start >= w.size()) {
        err("'no' expects a keyword");
        return;
    }
    std::size_t nwords = 1;
    const KeywordInfo* k = find_row(w, start, nwords);
    if (k == nullptr) {
        bool family = is_keyword_family(w[start]) && start + 1 < w.size();
        err("'" + join(w, start, family ? 2 : 1) + "' is not supported");
        return;
    }
    std::string name(k->name);
    SectionKind sk = ctx_.section.kind;
    Proxy* px = current_proxy();
    if (sk == SectionKind::global) {
        if ((k->sections & kInGlobal) == 0) {
            err("'" + name + "' is not allowed in the 'global' section");
            return;
        }
    } else if (sk == SectionKind::defaults) {
        if ((k->sections & kInDefaults) == 0) {
            err("'" + name + "' is not allowed in a 'defaults' section");
            return;
        }
        if ((k->flags & kNamedDefaultsOnly) != 0 && !ctx_.section.named) {
            err("'" + name + "' is not allowed in an anonymous 'defaults' section (give the section a name)");
            return;
        }
    } else {
        if ((k->sections & (kInFrontend | kInBackend)) == 0) {
            err("'" + name + "' is not allowed in a '" + section_name(sk) + "' section");
            return;
        }
        bool fe_ok = (k->sections & kInFrontend) != 0 && px->is_frontend;
        bool be_ok = (k->sections & kInBackend) != 0 && px->is_backend;
        if (!fe_ok && !be_ok) {
            bool needs_fe = (k->sections & kInFrontend) != 0;
            std::string m = "'" + name + "' " + ((k->flags & kStrictCapability) != 0 ? "is not allowed" : "ignored") +
                            " because " + section_name(sk) + " '" + px->name + "' has no " +
                            capability_name(needs_fe) + " capability";
            if ((k->flags & kStrictCapability) != 0) err(m);
            else warnings_.push_back(Diagnostic{l.loc.file, l.loc.line, m});
            return;
        }
    }
    if (negated && (k->flags & kNegatable) == 0) {
        err("'" + name + "' does not support the 'no' prefix");
        return;
    }
    ctx_.px = px;
    ctx_.start_line(l.loc, name, negated);
    std::span<const std::string> args(w.data() + start + nwords, w.size() - start - nwords);
    k->handler(ctx_, args);
    if (!ctx_.failed() && !negated && !k->feature.empty()) ctx_.use(k->feature);
}

int Parser::find_backend(const std::string& name) const {
    for (std::size_t i = 0; i < snap_->proxies.size(); ++i)
        if (snap_->proxies[i].is_backend && snap_->proxies[i].name == name) return static_cast<int>(i);
    return -1;
}

void Parser::check_backend_ref(Proxy& px, const std::string& name, const SourceLoc& loc, const char* what, int& out) {
    auto err = [&](std::string m) { errors_.push_back(Diagnostic{loc.file, loc.line, std::move(m)}); };
    int b = find_backend(name);
    if (b < 0) {
        bool fe_only = snap_->find_proxy(name) >= 0;
        err(std::string("'") + what + "': no backend named '" + name + "'" +
            (fe_only ? " (a frontend has that name, but a frontend has no servers)" : "") + " (used by " +
            (px.is_backend ? "listen" : "frontend") + " '" + px.name + "')");
        return;
    }
    const Proxy& be = snap_->proxies[static_cast<std::size_t>(b)];
    // An HTTP frontend cannot hand a stream to a TCP backend; the reverse is HAProxy's implicit
    // upgrade to HTTP, which it accepts (verified with haproxy 2.6 -c).
    if (px.mode == Mode::http && be.mode == Mode::tcp) {
        err(std::string("'") + what + "': http " + (px.is_backend ? "listen" : "frontend") + " '" + px.name +
            "' cannot use tcp backend '" + be.name + "' (" + be.loc.str() + ") (see 'mode')");
        return;
    }
    out = b;
}

void Parser::check_proxy(Proxy& px) {
    auto warn = [&](std::string m) { warnings_.push_back(Diagnostic{px.loc.file, px.loc.line, std::move(m)}); };
    const char* kind = px.is_frontend && px.is_backend ? "listen" : px.is_frontend ? "frontend" : "backend";
    std::string who = std::string(kind) + " '" + px.name + "'";
    if (px.is_frontend) {
        if (px.maxconn == 0) px.maxconn = snap_->global.maxconn;   // HAProxy: 0 means the global maxconn
        if (!px.default_backend_name.empty())
            check_backend_ref(px, px.default_backend_name, px.default_backend_loc, "default_backend", px.default_backend);
        for (auto& ub : px.use_backends) check_backend_ref(px, ub.name, ub.loc, "use_backend", ub.backend);
        if (px.binds.empty() && !px.disabled)
            warn(who + " has no 'bind' directive; declare it as a backend if this was intended");
        if (px.is_backend && !px.servers.empty() && !px.default_backend_name.empty())
            warn("in " + who + ", the 'default_backend' rule always has precedence over the servers, which will "
                 "never be used");
    }
    if (px.mode == Mode::tcp) {
        if (px.option_httplog && px.is_frontend) {
            warn("'option httplog' not usable with " + who + " (needs 'mode http'); falling back to 'option tcplog'");
            px.option_httplog = false;
            px.option_tcplog = true;
        }
        if (!px.http_request.empty()) warn("'http-request' rules ignored for " + who + " as they require HTTP mode");
        if (!px.http_response.empty()) warn("'http-response' rules ignored for " + who + " as they require HTTP mode");
        if (px.forwardfor.enabled) warn("'option forwardfor' ignored for " + who + " as it requires HTTP mode");
        if (!px.monitor_uri.empty() && px.is_frontend) warn("'monitor-uri' ignored for " + who + " as it requires HTTP mode");
    }
    if (px.is_backend && !px.httpchk.enabled &&
        (px.httpchk.expect != HttpCheck::Expect::none || !px.httpchk.headers.empty() || px.httpchk.method != "OPTIONS" ||
         px.httpchk.uri != "/" || px.httpchk.version != "HTTP/1.0"))
        warn(who + " uses http-check rules without 'option httpchk', so the rules are ignored");
    if (!px.disabled) {
        std::string missing;
        auto add = [&](const char* t) { missing += (missing.empty() ? "'" : ", '") + std::string(t) + "'"; };
        if (px.is_frontend && px.timeouts.client == kUnset) add("timeout client");
        if (px.is_backend && px.timeouts.connect == kUnset) add("timeout connect");
        if (px.is_backend && px.timeouts.server == kUnset) add("timeout server");
        if (!missing.empty())
            warn("missing timeouts for " + who + ": set " + missing + " (without them idle connections are never closed)");
    }
}

std::shared_ptr<const Snapshot> Parser::finish() {
    end_section();
    for (auto& px : snap_->proxies) check_proxy(px);
    bool listens = std::any_of(snap_->proxies.begin(), snap_->proxies.end(), [](const Proxy& p) { return p.is_frontend; });
    if (!listens && errors_.empty() && !snap_->files.empty())
        warnings_.push_back(Diagnostic{snap_->files.front(), 0, "no frontend or listen section: nothing to listen on"});

    // Names used by nbsrv(), srv_is_up(), be_conn() are known only now.
    std::vector<std::string> cond_errors;
    resolve_conditions(*snap_, cond_errors);
    for (auto& e : cond_errors) {
        // "FILE:LINE: message" -> Diagnostic; find the first ":<digits>: ".
        Diagnostic d{"", 0, e};
        for (std::size_t c = e.find(':'); c != std::string::npos; c = e.find(':', c + 1)) {
            std::size_t p = c + 1;
            while (p < e.size() && e[p] >= '0' && e[p] <= '9') ++p;
            if (p > c + 1 && e.compare(p, 2, ": ") == 0) {
                d.file = e.substr(0, c);
                d.line = std::stoi(e.substr(c + 1, p - c - 1));
                d.message = e.substr(p + 2);
                break;
            }
        }
        errors_.push_back(std::move(d));
    }

    for (const auto& w : warnings_) snap_->warnings.push_back(w.str());
    if (!errors_.empty()) return nullptr;
    return std::shared_ptr<const Snapshot>(std::move(snap_));
}

}  // namespace skjold::conf
