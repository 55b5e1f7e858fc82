#include "troupe/persistence/rocksdb_store.hpp"

#include "store_impl.hpp"

namespace troupe::persistence {

rocksdb_store::rocksdb_store(const std::filesystem::path& dir, store_options options)
  : impl_(impl::open(dir, std::move(options))) {
}

rocksdb_store::rocksdb_store(std::unique_ptr<impl> opened) : impl_(std::move(opened)) {
}

rocksdb_store::~rocksdb_store() = default;

status rocksdb_store::open_namespace(std::string_view service,
                                     const runtime::namespace_options& options) {
  return impl_->open_namespace(service, options);
}

void rocksdb_store::load(std::string_view service, std::string_view key, load_callback done) {
  impl_->load(service, key, std::move(done));
}

void rocksdb_store::save(std::string_view service, std::string_view key, std::uint64_t replaces,
                         std::string bytes, write_callback done) {
  impl_->save(service, key, replaces, std::move(bytes), std::move(done));
}

void rocksdb_store::erase(std::string_view service, std::string_view key, write_callback done) {
  impl_->erase(service, key, std::move(done));
}

void rocksdb_store::append(std::string_view service, std::string_view key,
                           runtime::journal_append append, write_callback done) {
  impl_->append(service, key, std::move(append), std::move(done));
}

void rocksdb_store::read_events(std::string_view service, std::string_view key,
                                std::uint64_t from_seq, std::size_t limit, events_callback done) {
  impl_->read_events(service, key, from_seq, limit, std::move(done));
}

void rocksdb_store::scan(std::string_view service, std::string_view prefix,
                         std::string_view after, std::size_t limit, scan_callback done) {
  impl_->scan(service, prefix, after, limit, std::move(done));
}

void rocksdb_store::write_batch(std::string_view service, std::vector<runtime::kv_mutation> batch,
                                write_callback done) {
  impl_->write_batch(service, std::move(batch), std::move(done));
}

void rocksdb_store::list_keys(std::string_view service, std::string_view after, std::size_t limit,
                              keys_callback done) {
  impl_->list_keys(service, after, limit, std::move(done));
}

void rocksdb_store::import_key(std::string_view service, std::string_view key,
                               runtime::key_image image, write_callback done) {
  impl_->import_key(service, key, std::move(image), std::move(done));
}

std::vector<std::string> rocksdb_store::namespaces() const {
  std::vector<std::string> out;
  for (auto& e : impl_->namespaces.all())
    out.push_back(std::move(e.service));
  return out;
}

std::optional<namespace_figures> rocksdb_store::figures(std::string_view service) const {
  auto e = impl_->namespaces.get(service);
  if (!e)
    return std::nullopt;
  return impl_->figures_of(*e);
}

store_figures rocksdb_store::figures() const {
  return impl_->figures();
}

void rocksdb_store::checkpoint(std::string dir, std::function<void(status)> done) {
  impl_->checkpoint(std::move(dir), std::move(done));
}

const std::filesystem::path& rocksdb_store::directory() const noexcept {
  return impl_->dir;
}

} // namespace troupe::persistence
