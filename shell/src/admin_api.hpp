// The node's admin API (/admin/v1/...) as typed requests: each method asks
// one question and returns the resource, or throws with the one line the
// shell shows. The resources are admin.proto's messages in the proto3 JSON
// mapping; a problem answer (RFC 9457) becomes a command_failed carrying its
// detail.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "troupe/admin.pb.h"
#include "admin_client.hpp"

namespace troupe::shell {

/// One key's state as the node answers it: the resource, and the state
/// message as the JSON the node printed (its type is the service's).
struct stored_state {
  admin::v1::StoredState head;  // service, key, version, type
  std::string state_json;
};

class admin_api {
public:
  explicit admin_api(admin_client client) : client_(std::move(client)) {}

  // Each throws transport_error when the node cannot be asked, and
  // command_failed when it answers with a problem or with something that is
  // not the resource.

  admin::v1::NodeInfo node();          // GET /admin/v1/node
  admin::v1::NodeList nodes();         // GET /admin/v1/nodes
  admin::v1::ModuleList modules();     // GET /admin/v1/modules
  admin::v1::ServiceList services();   // GET /admin/v1/services
  admin::v1::ServiceInfo service(std::string_view name);  // GET /admin/v1/services/{name}

  /// POST /admin/v1/services/{name}:reset. The service as the node answers
  /// it after the reset; empty when the node answers with no body.
  admin::v1::ServiceInfo reset(std::string_view name);

  /// GET /admin/v1/services/{name}:where?key=KEY
  admin::v1::KeyLocation where(std::string_view service, std::string_view key);

  /// POST /admin/v1/nodes/{name}:drain
  admin::v1::DrainAccepted drain(std::string_view node);
  /// POST /admin/v1/nodes/{name}:remove
  admin::v1::NodeRemoved remove(std::string_view node);

  /// POST /admin/v1/services/{service}/methods/{method}:call[?key=KEY] with
  /// JSON as the request message, to be answered within DEADLINE (see
  /// admin_client::post_call). The response message as JSON text.
  std::string call(std::string_view service, std::string_view method,
                   const std::optional<std::string>& key, std::string_view json,
                   std::chrono::milliseconds deadline);

  /// GET /admin/v1/services/{service}/state/{key}.
  stored_state state(std::string_view service, std::string_view key);

  /// DELETE /admin/v1/services/{service}/state/{key}: the state deleted.
  stored_state delete_state(std::string_view service, std::string_view key);

  /// POST /admin/v1/state:backup {"dir": DIR}, waiting up to DEADLINE plus
  /// admin_client::answer_grace: the node answers once the backup is
  /// written.
  admin::v1::Backup backup(std::string_view dir, std::chrono::milliseconds deadline);

  const base_url& url() const noexcept { return client_.url(); }

private:
  template <class Resource>
  Resource get(const std::string& target);

  /// POST /admin/v1/nodes/{node}:{change}, its answer parsed.
  template <class Answer>
  Answer change_node(std::string_view node, std::string_view change);

  template <class Resource>
  Resource parse_answer(std::string_view method, const std::string& target,
                        const http_response& answer) const;

  stored_state parse_stored_state(std::string_view method, const std::string& target,
                                  const http_response& answer) const;

  // Throws command_failed unless the answer is a success.
  void expect_success(const http_response& answer) const;

  admin_client client_;
};

/// The one line that tells what a failed answer means: the problem's detail,
/// else its title, else the status, e.g. "no service named 'x' on this node" or
/// "the node answered HTTP 502 Bad Gateway".
std::string failure_message(const http_response& answer);

} // namespace troupe::shell
