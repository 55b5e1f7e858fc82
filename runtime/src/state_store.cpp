#include "troupe/runtime/state_store.hpp"

#include <utility>

namespace troupe::runtime {

namespace {

status unsupported(const char* what) {
  return {status_code::unimplemented, std::string{"this state store keeps no "} + what};
}

} // namespace

// -- event journals -------------------------------------------------------------

void state_store::append(std::string_view, std::string_view, journal_append,
                         write_callback done) {
  done(unsupported("event journals"));
}

void state_store::read_events(std::string_view, std::string_view, std::uint64_t, std::size_t,
                              events_callback done) {
  done(unsupported("event journals"), {});
}

// -- key-value storage ------------------------------------------------------------

void state_store::scan(std::string_view, std::string_view, std::string_view, std::size_t,
                       scan_callback done) {
  done(unsupported("key-value storage"), {});
}

void state_store::write_batch(std::string_view, std::vector<kv_mutation>, write_callback done) {
  done(unsupported("key-value storage"));
}

// -- moving keys between nodes ------------------------------------------------

void state_store::import_key(std::string_view, std::string_view, key_image,
                             write_callback done) {
  done({status_code::unimplemented, "this state store cannot take keys over"});
}

} // namespace troupe::runtime
