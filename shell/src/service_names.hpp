// Which service and method the user means. Full names such as
// demo.counter.v1.Counter are exact but long to type, so the shell also
// takes the last part of a name (Counter, counter) when it names exactly one
// service, and a method name in any letter case.
#pragma once

#include <string>
#include <string_view>

#include "troupe/admin.pb.h"

namespace troupe::shell {

/// Whether NAME is a full service name and can be sent to the node as it is.
bool is_qualified_service_name(std::string_view name) noexcept;

/// The full name of the service NAME stands for: a service with exactly
/// that name, else the one whose last name part equals NAME ignoring letter
/// case. Throws command_failed when none does ("no service named 'x' on this
/// node", as the node itself words it) or when more than one does.
std::string resolve_service_name(std::string_view name, const admin::v1::ServiceList& services);

/// The method of SERVICE that METHOD names, exactly or ignoring letter case.
/// Throws command_failed naming the service's methods when none matches.
/// A service described without methods resolves every name to itself.
std::string resolve_method_name(std::string_view method, const admin::v1::ServiceInfo& service);

} // namespace troupe::shell
