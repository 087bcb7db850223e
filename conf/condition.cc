// Placeholder until the condition engine lands (owner: the conditions helper).
#include "conf/condition.hh"

namespace skjold::conf {

std::optional<std::string> add_acl(Proxy&, std::span<const std::string>, const SourceLocRef&) {
    return std::string("acl is not implemented yet");
}

core::Result<Condition, std::string> parse_condition(Proxy&, std::span<const std::string>, const SourceLocRef&) {
    return core::Unexpected{std::string("conditions are not implemented yet")};
}

void resolve_conditions(Snapshot&, std::vector<std::string>&) {}

}  // namespace skjold::conf
