/*
 * A plugin declaring the next ABI major: the host must refuse it with a clear error and call
 * nothing else in it. Built by the host tests:
 *
 *     cc -shared -fPIC -I plugins-abi/include plugins-abi/examples/c/abi_mismatch.c -o libm.so
 */
#include <stdlib.h>

#include "ringway_plugin.h"

static uint32_t must_not_run(const RwHostApi *host, RwBytes config, void **state_out, RwOut *out) {
    (void)host;
    (void)config;
    (void)state_out;
    (void)out;
    abort(); /* the host checks the version before calling anything */
}

static const RwPluginDescriptor DESCRIPTOR = {
    .size = sizeof(RwPluginDescriptor),
    .abi_major = RW_ABI_MAJOR + 1,
    .abi_minor = 0,
    .name = {(const uint8_t *)"mismatch", 8},
    .version = {(const uint8_t *)"9.9.9", 5},
    .config_new = must_not_run,
};

__attribute__((visibility("default"))) const RwPluginDescriptor *ringway_plugin_entry(void) {
    return &DESCRIPTOR;
}
