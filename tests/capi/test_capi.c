/* C ABI tests: plain C99, linked against libdiffuse.so only. Prints "N passed, N failed". */
#include <stdio.h>
#include <string.h>

#include "diffuse.h"

static int passed = 0, failed = 0;

#define CHECK(cond)                                                  \
  do {                                                               \
    if (cond) {                                                      \
      ++passed;                                                      \
    } else {                                                         \
      ++failed;                                                      \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                \
  } while (0)

static void test_version_matches_header(void) {
  char expected[32];
  snprintf(expected, sizeof expected, "%d.%d.%d", DIFFUSE_VERSION_MAJOR, DIFFUSE_VERSION_MINOR,
           DIFFUSE_VERSION_PATCH);
  CHECK(strcmp(diffuse_version(), expected) == 0);
  CHECK(diffuse_version_number() == DIFFUSE_VERSION_NUMBER);
  CHECK(diffuse_abi_version() == DIFFUSE_ABI_VERSION);
}

static void test_status_strings(void) {
  CHECK(strcmp(diffuse_status_string(DIFFUSE_OK), "ok") == 0);
  CHECK(strcmp(diffuse_status_string(DIFFUSE_E_INVALID_CONFIG), "invalid config") == 0);
  CHECK(strcmp(diffuse_status_string((diffuse_status)999), "unknown status") == 0);
}

static void test_log_level_rejects_out_of_range(void) {
  CHECK(strcmp(diffuse_last_error(), "") == 0);
  CHECK(diffuse_log_set_level(DIFFUSE_LOG_WARN) == DIFFUSE_OK);
  CHECK(diffuse_log_set_level((diffuse_log_level)42) == DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(strstr(diffuse_last_error(), "level 42") != NULL);
  CHECK(diffuse_log_set_level(DIFFUSE_LOG_INFO) == DIFFUSE_OK);
}

int main(void) {
  test_version_matches_header();
  test_status_strings();
  test_log_level_rejects_out_of_range();
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
