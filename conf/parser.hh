#pragma once
// Lines of words -> Snapshot. Knows sections (global, defaults, frontend, backend, listen),
// dispatches every other line through the keyword table, applies HAProxy's defaults inheritance,
// and after the last file cross-checks the whole configuration (backends named by
// use_backend/default_backend, modes, binds, conditions). Control plane only; one Parser per load.

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "conf/diagnostic.hh"
#include "conf/keywords.hh"
#include "conf/lexer.hh"
#include "conf/parse_context.hh"
#include "conf/snapshot_types.hh"

namespace skjold::conf {

class Parser {
public:
    Parser();
    Parser(const Parser&) = delete;
    Parser& operator=(const Parser&) = delete;

    // Each file starts outside any section and its end closes the open section (HAProxy's rule).
    void begin_file(const std::string& path);
    void line(const ConfLine& l);
    void end_file();

    // Cross-checks everything parsed. Returns the Snapshot, or null if any error was reported
    // (here or earlier). errors()/warnings() hold every diagnostic in the order found.
    std::shared_ptr<const Snapshot> finish();

    std::vector<Diagnostic>& errors() { return errors_; }
    std::vector<Diagnostic>& warnings() { return warnings_; }

private:
    struct Defaults {
        std::string name;          // empty: anonymous
        SourceLoc loc;
        Proxy px;
        bool has_rules = false;    // tcp-request / http-request / http-response rules
        bool used_by_frontend = false, used_by_backend = false;
        bool used_explicitly = false, used_implicitly = false, mix_warned = false;
    };

    void start_section(const ConfLine& l);
    void end_section();
    int find_defaults(const std::string& name, const SourceLoc& loc);
    void dispatch(const ConfLine& l);
    const KeywordInfo* find_row(const std::vector<std::string>& w, std::size_t start, std::size_t& nwords) const;
    Proxy* current_proxy();

    int find_backend(const std::string& name) const;
    void check_backend_ref(Proxy& px, const std::string& name, const SourceLoc& loc, const char* what, int& out);
    void check_proxy(Proxy& px);

    std::unique_ptr<Snapshot> snap_;
    std::vector<Diagnostic> errors_, warnings_;
    ParseContext ctx_;
    std::deque<Defaults> defaults_;
    int last_defaults_ = -1;       // applies to the proxies that follow (no `from`)
    int cur_defaults_ = -1;        // the defaults section being parsed
    int cur_proxy_ = -1;           // index in snap_->proxies of the section being parsed
    bool skipping_ = false;        // inside a section type skjold does not support
};

}  // namespace skjold::conf
