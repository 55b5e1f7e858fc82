// The HTTP message types the gateway reads and writes: whole messages with
// the body in a std::string (bodies are bounded by max_body_bytes).
#pragma once

#include <ostream>  // Boost 1.74's string_view needs it complete
#include <utility>  // before Boost.Asio under -std=c++20

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace troupe::gateway {

using http_request = boost::beast::http::request<boost::beast::http::string_body>;
using http_response = boost::beast::http::response<boost::beast::http::string_body>;

inline constexpr const char* json_content_type = "application/json";
inline constexpr const char* problem_content_type = "application/problem+json";

} // namespace troupe::gateway
