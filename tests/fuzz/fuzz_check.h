// FUZZ_CHECK: a contract the code under test promises for every input.  A
// violation aborts, so libFuzzer records the input as a crash.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond, what)                                                    \
  do {                                                                            \
    if (!(cond)) {                                                                \
      std::fprintf(stderr, "FUZZ_CHECK failed: %s: %s\n", #cond, (what).c_str()); \
      std::abort();                                                               \
    }                                                                             \
  } while (0)
