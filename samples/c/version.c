/* Smallest program against the C ABI: checks that the library it runs with matches the header.
 *   cc version.c $(pkg-config --cflags --libs diffuse) -o version */
#include <stdio.h>

#include "diffuse.h"

int main(void) {
  if (diffuse_abi_version() != DIFFUSE_ABI_VERSION) {
    fprintf(stderr, "libdiffuse ABI %d, but this program was built for ABI %d\n", diffuse_abi_version(),
            DIFFUSE_ABI_VERSION);
    return 1;
  }
  printf("diffuse %s (ABI %d)\n", diffuse_version(), diffuse_abi_version());
  return 0;
}
