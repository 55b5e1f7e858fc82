#include "admin_resources.hpp"

#include <algorithm>
#include <chrono>
#include <limits>

#include <google/protobuf/descriptor.h>

#include "http_rule.hpp"
#include "utf8.hpp"
#include "troupe/options.pb.h"
#include "troupe/runtime/node.hpp"
#include "troupe/version.hpp"

namespace troupe::gateway {

namespace pb = google::protobuf;
namespace admin_pb = troupe::admin::v1;

namespace {

std::uint32_t millis(std::chrono::milliseconds d) {
  return static_cast<std::uint32_t>(std::clamp<std::chrono::milliseconds::rep>(
    d.count(), 0, std::numeric_limits<std::uint32_t>::max()));
}

std::int64_t seconds_since_epoch(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

void add_route(admin_pb::MethodInfo& method, const troupe::HttpRule& rule) {
  auto pattern = troupe::options::pattern_of(rule);
  if (!pattern)
    return;
  auto* route = method.add_routes();
  route->set_verb(std::string{pattern->verb});
  route->set_path(pattern->path);
  route->set_body(rule.body());
}

void add_key_supervision(admin_pb::ServiceInfo& info,
                         const runtime::key_failure_monitor& monitor) {
  const auto& keys = monitor.keys();
  auto* rule = info.mutable_key_supervision();
  rule->set_quarantine_initial_ms(millis(keys.quarantine_initial));
  rule->set_quarantine_max_ms(millis(keys.quarantine_max));
  rule->set_systematic_keys(keys.systematic_keys);
  rule->set_systematic_percent(keys.systematic_percent);
  rule->set_max_tracked_keys(keys.max_tracked_keys);
  rule->set_rule(monitor.rule());
  auto seen = monitor.observe(runtime::key_failure_monitor::clock::now());
  info.set_quarantined_keys(seen.quarantined);
  info.set_quarantines(seen.quarantines);
  info.set_tracked_keys(seen.tracked);
  for (const auto& q : seen.latest) {
    auto* shown = info.add_latest_quarantined();
    shown->set_key(printable_utf8(q.key));
    shown->set_period_ms(millis(q.period));
    shown->set_remaining_ms(millis(q.remaining));
    shown->set_streak(q.streak);
  }
}

} // namespace

admin_pb::NodeInfo node_info(const runtime::node& node, const gateway_facts& gateway) {
  admin_pb::NodeInfo info;
  const auto& config = node.config();
  auto started = node.started_at();
  auto now = std::chrono::system_clock::now();
  info.set_name(config.name);
  info.set_version(troupe::version_string);
  info.set_uptime_seconds(
    std::max<std::int64_t>(0, seconds_since_epoch(now) - seconds_since_epoch(started)));
  info.set_http_address(std::string{gateway.http_address});
  info.set_data_dir(config.data_dir);
  info.set_started_at_unix(seconds_since_epoch(started));
  info.set_status(gateway.draining ? "draining" : "serving");
  info.set_request_timeout_ms(static_cast<std::uint32_t>(gateway.request_timeout.count()));
  info.set_log_lines_dropped(static_cast<std::int64_t>(node.log().dropped_lines()));
  const auto& http = gateway.load;
  info.set_http_connections_open(http.connections_open);
  info.set_http_connections_max(http.max_connections);
  info.set_http_connections_refused(http.connections_refused);
  info.set_http_body_bytes_in_flight(http.body_bytes_in_flight);
  info.set_http_body_memory_max(http.max_body_memory);
  info.set_http_body_reads_paused(http.body_reads_paused);
  info.set_http_slow_clients_dropped(http.slow_clients_dropped);
  for (const auto& reason : gateway.unready_reasons)
    info.add_unready_reasons(reason);
  auto load = node.load();
  info.set_max_inflight(config.max_inflight);
  info.set_inflight(load.inflight);
  info.set_max_mailbox(config.max_mailbox);
  info.set_max_activations(config.max_activations);
  info.set_activations(load.activations);
  info.set_calls_shed(load.calls_shed);
  info.set_shedding(node.shedding());
  info.set_slow_handler_threshold_ms(millis(config.slow_handler_threshold));
  info.set_slow_calls(load.slow_calls);
  return info;
}

admin_pb::ModuleList module_list(const runtime::node& node) {
  admin_pb::ModuleList list;
  for (const auto& module : node.modules()) {
    auto* info = list.add_modules();
    info->set_name(module.name);
    info->set_version(module.version);
    info->set_path(module.path);
    for (const auto& service : module.services)
      info->add_services(service);
  }
  return list;
}

admin_pb::ServiceInfo service_info(const runtime::service_entry& service) {
  admin_pb::ServiceInfo info;
  info.set_name(service.name);
  info.set_kind(service.kind == runtime::service_kind::keyed ? "keyed" : "stateless");
  info.set_module(service.module);
  const auto& stats = *service.stats;
  info.set_status(stats.failed.load() ? "failed" : "running");
  info.set_instances(service.stats->instances.load(std::memory_order_relaxed));
  info.set_active_actors(stats.active_actors.load());
  info.set_idle_timeout_ms(static_cast<std::uint32_t>(service.idle_timeout.count()));
  info.set_restarts(stats.restarts.load());
  info.set_calls(stats.calls.load());
  info.set_failures(stats.failures.load());
  info.set_inflight(stats.inflight());
  info.set_mailbox_high_water(stats.mailbox_high_water());
  info.set_calls_shed(stats.calls_shed());
  info.set_slow_calls(stats.slow_calls.load());
  info.set_blocking(service.blocking);
  info.set_threads(service.threads);
  info.set_cluster_instances(service.cluster_instances);
  info.set_max_activations(service.max_activations);
  auto* policy = info.mutable_restart_policy();
  policy->set_max_restarts(service.policy.max_restarts);
  policy->set_window_ms(static_cast<std::uint32_t>(service.policy.window.count()));
  policy->set_backoff_initial_ms(
    static_cast<std::uint32_t>(service.policy.backoff_initial.count()));
  policy->set_backoff_max_ms(static_cast<std::uint32_t>(service.policy.backoff_max.count()));
  if (service.key_monitor)
    add_key_supervision(info, *service.key_monitor);
  if (service.descriptor != nullptr) {
    for (int i = 0; i < service.descriptor->method_count(); ++i) {
      const pb::MethodDescriptor* method = service.descriptor->method(i);
      if (static_cast<std::size_t>(i) < stats.slow_methods.size()
          && stats.slow_methods[static_cast<std::size_t>(i)].load())
        info.add_slow_methods(method->name());
      auto* method_info = info.add_methods();
      method_info->set_name(method->name());
      method_info->set_input_type(method->input_type()->full_name());
      method_info->set_output_type(method->output_type()->full_name());
      if (method->options().HasExtension(troupe::http))
        add_route(*method_info, method->options().GetExtension(troupe::http));
    }
  }
  return info;
}

admin_pb::StateStoreInfo state_store_info(const runtime::store_figures& figures) {
  admin_pb::StateStoreInfo info;
  info.set_engine(figures.engine);
  info.set_directory(figures.directory);
  info.set_disk_bytes(figures.disk_bytes);
  info.set_memory_bytes(figures.memory_bytes);
  info.set_pending_reads(figures.pending_reads);
  info.set_pending_writes(figures.pending_writes);
  info.set_commit_rounds(figures.commit_rounds);
  info.set_wal_syncs(figures.wal_syncs);
  info.set_writes_committed(figures.writes_committed);
  info.set_writes_refused_stale(figures.writes_refused_stale);
  info.set_writes_failed(figures.writes_failed);
  info.set_refused_overloaded(figures.refused_overloaded);
  info.set_write_stopped(figures.write_stopped);
  info.set_delayed_write_rate(figures.delayed_write_rate);
  info.set_write_stall_micros(figures.write_stall_micros);
  info.set_last_fault(printable_utf8(figures.last_fault));
  info.set_backup_running(figures.checkpoint_running);
  return info;
}

admin_pb::ServiceStateInfo service_state_info(const runtime::service_entry& service,
                                              const runtime::namespace_figures& figures) {
  using durability = runtime::namespace_options::durability;
  admin_pb::ServiceStateInfo info;
  info.set_type(service.state_type != nullptr ? service.state_type->full_name()
                                              : service.state_options.state_type);
  bool batched = service.state_options.mode == durability::batched;
  info.set_durability(batched ? "BATCHED" : "SYNC");
  if (batched)
    info.set_batch_interval_ms(millis(service.state_options.batch_interval));
  info.set_keys(figures.keys);
  info.set_disk_bytes(figures.sst_bytes);
  info.set_live_data_bytes(figures.live_data_bytes);
  info.set_memtable_bytes(figures.memtable_bytes);
  info.set_pending_compaction_bytes(figures.pending_compaction_bytes);
  info.set_stall_stops(figures.stall_stops);
  info.set_stall_slowdowns(figures.stall_slowdowns);
  return info;
}

} // namespace troupe::gateway
