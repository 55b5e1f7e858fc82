#include "responder.hpp"

#include <boost/asio/post.hpp>

#include "http_connection.hpp"

namespace troupe::gateway {

void responder::send(http_response response) const {
  send_from_io_thread(
    [response = std::move(response)]() mutable { return std::move(response); });
}

void responder::send_from_io_thread(std::function<http_response()> make) const {
  // Under the shared lock the io_context is alive; stop() takes the exclusive
  // lock before it tears the io_context down.
  std::shared_lock lock{server_->responses_mutex};
  if (!server_->accepting_responses)
    return;
  auto connection = connection_.lock();
  if (!connection)
    return;
  auto executor = connection->get_executor();
  boost::asio::post(executor, [connection = std::move(connection), id = request_id_,
                               make = std::move(make)] { connection->complete(id, make); });
}

} // namespace troupe::gateway
