// The bytes of an HTTP/1.x response the gateway wrote itself: status line,
// header fields in the order the message holds them, a blank line, the body.
//
// Beast's serializer writes the same bytes as a sequence of up to a dozen
// buffers per field that it walks through a chain of buffers_cat_view
// iterators; for the gateway's small responses that walk cost more than the
// rest of the response path (~12 000 instructions per response of ~150 bytes,
// callgrind, docs/benchmarks.md). Reading stays with Beast's parser: this is
// only the output side, for messages whose every field the gateway set.
#pragma once

#include <string>

#include "http_message.hpp"

namespace troupe::gateway::detail {

/// Appends `response` to `out`, its body only when `with_body` (a response to
/// HEAD has the header of a GET and no body). The message must be prepared:
/// Content-Length set (prepare_payload()), no chunked transfer coding.
void append_response_bytes(const http_response& response, bool with_body, std::string& out);

} // namespace troupe::gateway::detail
