// The endpoints the gateway answers itself rather than forwarding to a
// service: health checks and the admin API. Their routes share the router
// with the services' routes, so a service cannot claim one of them.
#pragma once

#include <span>
#include <string_view>

#include <ostream>  // Boost 1.74's string_view needs it complete
#include <utility>  // before Boost.Asio under -std=c++20

#include <boost/beast/http/verb.hpp>

namespace troupe::gateway {

enum class builtin_endpoint {
  healthz,              // GET  /healthz
  readyz,               // GET  /readyz
  admin_node,           // GET  /admin/v1/node
  admin_nodes,          // GET  /admin/v1/nodes
  admin_modules,        // GET  /admin/v1/modules
  admin_services,       // GET  /admin/v1/services
  admin_service,        // GET  /admin/v1/services/{name}
  admin_reset_service,  // POST /admin/v1/services/{name}:reset
  admin_call,           // POST /admin/v1/services/{name}/methods/{method}:call
  admin_journal,        // GET  /admin/v1/services/{name}/journal/{key} (admin_journal.hpp)
  // The state store (admin_state_api.cpp):
  admin_get_state,      // GET    /admin/v1/services/{name}/state/{key}
  admin_delete_state,   // DELETE /admin/v1/services/{name}/state/{key}
  admin_backup,         // POST   /admin/v1/state:backup
  admin_key_location,   // GET  /admin/v1/services/{name}:where?key=K
  admin_drain_node,     // POST /admin/v1/nodes/{name}:drain
  admin_remove_node,    // POST /admin/v1/nodes/{name}:remove
};

struct builtin_route {
  boost::beast::http::verb verb;
  std::string_view path_template;
  builtin_endpoint endpoint;
};

/// All built-in routes.
std::span<const builtin_route> builtin_routes() noexcept;

/// Paths under this prefix belong to the admin API; services may not route
/// there.
inline constexpr std::string_view admin_path_prefix = "/admin/";

} // namespace troupe::gateway
