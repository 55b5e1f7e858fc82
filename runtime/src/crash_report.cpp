#include "crash_report.hpp"

#include <dlfcn.h>
#include <execinfo.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>

namespace troupe::runtime {

namespace {

// Process-wide by necessity (see the header): read by the signal handler.
thread_local const running_call* current_call = nullptr;
char node_name_text[128];
std::atomic<bool> installed{false};

constexpr int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

/// A line built in a fixed buffer with async-signal-safe steps only: no
/// allocation, no locale, no stdio.
class line_buffer {
public:
  void add(const char* text) {
    while (*text != '\0')
      put(*text++);
  }

  /// `text` as the contents of a JSON string (without the quotes).
  void add_json(const char* text, std::size_t size) {
    static constexpr char hex[] = "0123456789abcdef";
    for (std::size_t i = 0; i < size; ++i) {
      auto c = static_cast<unsigned char>(text[i]);
      if (c == '"' || c == '\\') {
        put('\\');
        put(static_cast<char>(c));
      } else if (c < 0x20 || c == 0x7f) {
        add("\\u00");
        put(hex[c >> 4]);
        put(hex[c & 0xf]);
      } else {
        put(static_cast<char>(c));
      }
    }
  }

  void add_field(const char* name, const char* value, std::size_t size) {
    add(",\"");
    add(name);
    add("\":\"");
    add_json(value, size);
    put('"');
  }

  /// `value` in hexadecimal, with 0x.
  void add_hex(std::uintptr_t value) {
    char digits[2 * sizeof(value)];
    int n = 0;
    do {
      digits[n++] = "0123456789abcdef"[value % 16];
      value /= 16;
    } while (value != 0 && n < static_cast<int>(sizeof(digits)));
    add("0x");
    while (n > 0)
      put(digits[--n]);
  }

  /// `value` in decimal, at least `width` digits.
  void add_number(long value, int width = 1) {
    char digits[24];
    int n = 0;
    bool negative = value < 0;
    unsigned long v = negative ? 0ul - static_cast<unsigned long>(value)
                               : static_cast<unsigned long>(value);
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0 && n < 20);
    while (n < width && n < 20)
      digits[n++] = '0';
    if (negative)
      put('-');
    while (n > 0)
      put(digits[--n]);
  }

  /// Now as an ECS @timestamp, 2026-12-01T10:00:00.123Z.
  void add_timestamp() {
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    long days = now.tv_sec / 86400;
    long seconds = now.tv_sec % 86400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    long z = days + 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    long day = doy - (153 * mp + 2) / 5 + 1;
    long month = mp < 10 ? mp + 3 : mp - 9;
    long year = yoe + era * 400 + (month <= 2 ? 1 : 0);
    add_number(year, 4);
    put('-');
    add_number(month, 2);
    put('-');
    add_number(day, 2);
    put('T');
    add_number(seconds / 3600, 2);
    put(':');
    add_number(seconds / 60 % 60, 2);
    put(':');
    add_number(seconds % 60, 2);
    put('.');
    add_number(now.tv_nsec / 1'000'000, 3);
    put('Z');
  }

  /// Ends the line (the byte kept for it) and writes it to `fd`.
  void write_line_to(int fd) {
    text_[size_++] = '\n';
    std::size_t done = 0;
    while (done < size_) {
      auto n = ::write(fd, text_ + done, size_ - done);
      if (n <= 0)
        return;
      done += static_cast<std::size_t>(n);
    }
  }

  void put(char c) {
    // The last byte is kept for the newline.
    if (size_ + 1 < sizeof(text_))
      text_[size_++] = c;
  }

private:
  char text_[2048];
  std::size_t size_ = 0;
};

const char* signal_name(int sig) {
  switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGABRT: return "SIGABRT";
    default: return "signal";
  }
}

void write_crash_line(int sig) {
  line_buffer line;
  line.add("{\"@timestamp\":\"");
  line.add_timestamp();
  line.add("\",\"log.level\":\"fatal\",\"message\":\"");
  const running_call* call = current_call;
  line.add(call != nullptr ? "a handler crashed the node" : "the node crashed");
  line.add("\",\"service.name\":\"troupe\"");
  line.add_field("service.node.name", node_name_text, std::strlen(node_name_text));
  line.add(",\"process.signal\":\"");
  line.add(signal_name(sig));
  line.put('"');
  if (call != nullptr) {
    line.add_field("troupe.service", call->service.data(), call->service.size());
    line.add_field("troupe.method", call->method.data(), call->method.size());
    if (!call->key.empty())
      line.add_field("troupe.key", call->key.data(), call->key.size());
  }
  // Where it crashed, as "library+0xoffset" frames that addr2line resolves
  // against the same build (no symbol lookup in a signal handler).
  void* frames[16];
  int depth = ::backtrace(frames, 16);
  line.add(",\"error.stack_trace\":\"");
  for (int i = 0; i < depth; ++i) {
    Dl_info info{};
    auto address = reinterpret_cast<std::uintptr_t>(frames[i]);
    if (i > 0)
      line.add(" ");
    if (::dladdr(frames[i], &info) != 0 && info.dli_fname != nullptr) {
      const char* base = std::strrchr(info.dli_fname, '/');
      base = base != nullptr ? base + 1 : info.dli_fname;
      line.add_json(base, std::strlen(base));
      line.put('+');
      line.add_hex(address - reinterpret_cast<std::uintptr_t>(info.dli_fbase));
    } else {
      line.add_hex(address);
    }
  }
  line.put('"');
  line.put('}');
  line.write_line_to(STDERR_FILENO);
}

void on_fatal_signal(int sig) {
  write_crash_line(sig);
  // SA_RESETHAND restored the default action: raising again ends the process
  // as the signal would have, with a core dump where enabled.
  ::raise(sig);
}

} // namespace

void install_crash_report(const std::string& node_name) {
  auto n = std::min(node_name.size(), sizeof(node_name_text) - 1);
  std::memcpy(node_name_text, node_name.data(), n);
  node_name_text[n] = '\0';
  if (installed.exchange(true))
    return;
  // backtrace() loads its unwinder on first use: not in the handler.
  void* warm_up[1];
  ::backtrace(warm_up, 1);
  struct sigaction action{};
  action.sa_handler = on_fatal_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND | SA_NODEFER;
  for (int sig : fatal_signals)
    ::sigaction(sig, &action, nullptr);
}

running_call::running_call(std::string_view service_name, std::string_view method_name,
                           std::string_view key_text) noexcept
  : service(service_name), method(method_name), key(key_text), previous_(current_call) {
  current_call = this;
}

running_call::~running_call() {
  current_call = previous_;
}

} // namespace troupe::runtime
