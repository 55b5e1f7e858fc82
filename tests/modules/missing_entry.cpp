// A shared library that is not a module: it has no troupe_module_v1.
extern "C" __attribute__((visibility("default"))) int troupe_not_a_module() {
  return 42;
}
