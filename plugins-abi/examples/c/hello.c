/*
 * hello: a ringway plugin written in C against include/ringway_plugin.h, to show the ABI is
 * language-neutral. Built and loaded by the host tests:
 *
 *     cc -shared -fPIC -O2 -I plugins-abi/include plugins-abi/examples/c/hello.c -o libhello.so
 *
 * - http_pre: answers GET /hello/ping itself with 200 {"pong":true}.
 * - pre_llm: refuses model "blocked" with 403; otherwise remembers 42 in its per-request slot.
 * - post_llm: adds "x-hello-slot: <slot>" to the response (proves the slot survives).
 * - http_post: adds "x-hello: c" and "x-hello-config-bytes: <length of its config JSON>".
 *
 * With -DHELLO_OLD_DESCRIPTOR the descriptor declares a size ending before http_post, as a
 * plugin built against an older minor would: the host must treat http_post and stream_chunk as
 * not implemented.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringway_plugin.h"

typedef struct HelloConfig {
    const RwHostApi *host;
    size_t config_len;
} HelloConfig;

typedef struct HelloInstance {
    const RwHostApi *host;
    const HelloConfig *config;
    uint64_t served;
} HelloInstance;

static int str_eq(RwStr s, const char *lit) {
    size_t n = strlen(lit);
    return s.len == n && (n == 0 || memcmp(s.ptr, lit, n) == 0);
}

static RwStr cstr(const char *s) {
    RwStr r = {(const uint8_t *)s, strlen(s)};
    return r;
}

static uint32_t hello_config_new(const RwHostApi *host, RwBytes config, void **state_out,
                                 RwOut *out) {
    if (host == NULL || host->abi_major != RW_ABI_MAJOR || host->size < RW_HOST_API_MIN_SIZE) {
        return RW_FAIL;
    }
    HelloConfig *c = malloc(sizeof *c);
    if (c == NULL) {
        host->set_error(out, 500, RW_STR_LIT("plugin_error"), RW_STR_LIT(""),
                        RW_STR_LIT("out of memory"));
        return RW_FAIL;
    }
    c->host = host;
    c->config_len = config.len;
    host->log(out, RW_LOG_INFO, RW_STR_LIT("hello (C) configured"));
    *state_out = c;
    return RW_CONTINUE;
}

static void hello_config_free(void *state) { free(state); }

static uint32_t hello_instance_new(void *state, const RwHostApi *host, uint32_t core,
                                   void **instance_out, RwOut *out) {
    (void)core;
    HelloInstance *i = malloc(sizeof *i);
    if (i == NULL) {
        host->set_error(out, 500, RW_STR_LIT("plugin_error"), RW_STR_LIT(""),
                        RW_STR_LIT("out of memory"));
        return RW_FAIL;
    }
    i->host = host;
    i->config = state;
    i->served = 0;
    *instance_out = i;
    return RW_CONTINUE;
}

static void hello_instance_free(void *instance) { free(instance); }

static uint32_t hello_http_pre(void *instance, const RwCall *call, const RwHttpRequest *req,
                               RwOut *out) {
    HelloInstance *i = instance;
    (void)call;
    if (str_eq(req->method, "GET") && str_eq(req->path, "/hello/ping")) {
        static const char body[] = "{\"pong\":true}";
        RwBytes b = {(const uint8_t *)body, sizeof body - 1};
        i->host->set_status(out, 200);
        i->host->set_header(out, RW_STR_LIT("content-type"), RW_STR_LIT("application/json"));
        i->host->set_body(out, b);
        return RW_RESPOND;
    }
    return RW_CONTINUE;
}

static uint32_t hello_pre_llm(void *instance, const RwCall *call, const RwLlmRequest *req,
                              RwOut *out) {
    HelloInstance *i = instance;
    if (str_eq(req->model, "blocked")) {
        i->host->set_error(out, 403, RW_STR_LIT("blocked"), RW_STR_LIT("hello_blocked"),
                           RW_STR_LIT("model 'blocked' is refused by the hello plugin"));
        return RW_REJECT;
    }
    *call->slot = 42;
    return RW_CONTINUE;
}

static uint32_t hello_post_llm(void *instance, const RwCall *call, const RwLlmResponse *res,
                               RwOut *out) {
    HelloInstance *i = instance;
    char value[32];
    (void)res;
    snprintf(value, sizeof value, "%llu", (unsigned long long)*call->slot);
    i->host->set_header(out, RW_STR_LIT("x-hello-slot"), cstr(value));
    return RW_CONTINUE;
}

static uint32_t hello_http_post(void *instance, const RwCall *call, const RwHttpRequest *req,
                                const RwHttpResponse *res, RwOut *out) {
    HelloInstance *i = instance;
    char value[32];
    (void)call;
    (void)req;
    (void)res;
    i->served++;
    i->host->set_header(out, RW_STR_LIT("x-hello"), RW_STR_LIT("c"));
    snprintf(value, sizeof value, "%zu", i->config->config_len);
    i->host->set_header(out, RW_STR_LIT("x-hello-config-bytes"), cstr(value));
    return RW_CONTINUE;
}

static const RwPluginDescriptor DESCRIPTOR = {
#ifdef HELLO_OLD_DESCRIPTOR
    .size = offsetof(RwPluginDescriptor, http_post),
#else
    .size = sizeof(RwPluginDescriptor),
#endif
    .abi_major = RW_ABI_MAJOR,
    .abi_minor = RW_ABI_MINOR,
    .name = {(const uint8_t *)"hello", 5},
    .version = {(const uint8_t *)"1.0.0", 5},
    .config_new = hello_config_new,
    .config_free = hello_config_free,
    .instance_new = hello_instance_new,
    .instance_free = hello_instance_free,
    .http_pre = hello_http_pre,
    .pre_llm = hello_pre_llm,
    .post_llm = hello_post_llm,
    /* Present in the table, but past `size` with HELLO_OLD_DESCRIPTOR: the host must not call
     * it then. */
    .http_post = hello_http_post,
    .stream_chunk = NULL,
};

__attribute__((visibility("default"))) const RwPluginDescriptor *ringway_plugin_entry(void) {
    return &DESCRIPTOR;
}
