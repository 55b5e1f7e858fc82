#include "builtin_endpoint.hpp"

#include <array>

namespace troupe::gateway {

namespace {

using boost::beast::http::verb;

constexpr std::array routes{
  builtin_route{verb::get, "/healthz", builtin_endpoint::healthz},
  builtin_route{verb::get, "/readyz", builtin_endpoint::readyz},
  builtin_route{verb::get, "/admin/v1/node", builtin_endpoint::admin_node},
  builtin_route{verb::get, "/admin/v1/nodes", builtin_endpoint::admin_nodes},
  builtin_route{verb::get, "/admin/v1/modules", builtin_endpoint::admin_modules},
  builtin_route{verb::get, "/admin/v1/services", builtin_endpoint::admin_services},
  builtin_route{verb::get, "/admin/v1/services/{name}", builtin_endpoint::admin_service},
  builtin_route{verb::post, "/admin/v1/services/{name}:reset",
                builtin_endpoint::admin_reset_service},
  builtin_route{verb::post, "/admin/v1/services/{name}/methods/{method}:call",
                builtin_endpoint::admin_call},
  builtin_route{verb::get, "/admin/v1/services/{name}/journal/{key}",
                builtin_endpoint::admin_journal},
  builtin_route{verb::get, "/admin/v1/services/{name}/state/{key}",
                builtin_endpoint::admin_get_state},
  builtin_route{verb::delete_, "/admin/v1/services/{name}/state/{key}",
                builtin_endpoint::admin_delete_state},
  builtin_route{verb::post, "/admin/v1/state:backup", builtin_endpoint::admin_backup},
  builtin_route{verb::get, "/admin/v1/services/{name}:where",
                builtin_endpoint::admin_key_location},
  builtin_route{verb::post, "/admin/v1/nodes/{name}:drain", builtin_endpoint::admin_drain_node},
  builtin_route{verb::post, "/admin/v1/nodes/{name}:remove",
                builtin_endpoint::admin_remove_node},
};

} // namespace

std::span<const builtin_route> builtin_routes() noexcept {
  return routes;
}

} // namespace troupe::gateway
