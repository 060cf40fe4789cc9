/*
 * ringway native plugin ABI, version 1.0: the C spelling of ringway-plugins-abi/src/abi.rs.
 * plugins-abi/tests/header.rs compiles this header against the sizes and offsets of the Rust
 * types, so the two cannot drift apart.
 *
 * A plugin is a shared library exporting one function:
 *
 *     const RwPluginDescriptor *ringway_plugin_entry(void);
 *
 * returning a pointer to a static descriptor. The host refuses a plugin whose abi_major differs
 * from its own and accepts any minor: structs start with a `size` and only ever grow at the end,
 * and a function pointer that is NULL, or lies past the `size` the plugin declared, is "not
 * implemented".
 *
 * Ownership: everything the host passes is borrowed for the duration of the call; copy what you
 * keep. The plugin never hands memory it owns to the host: it calls the RwHostApi callbacks,
 * which copy before returning. Nobody frees memory allocated by the other side.
 *
 * Threads: config_new runs on a control thread; instance_new runs on each worker thread
 * (several at once, all reading the same config state, which must therefore be safe to read
 * concurrently); an instance's hooks and its instance_free run on the thread that created it,
 * one at a time. config_free runs once, after every instance was freed, on whichever thread
 * releases the plugin last (possibly a worker): keep it short. Hooks must not block. Nothing may
 * unwind (C++ exceptions, Rust panics) across these functions.
 */
#ifndef RINGWAY_PLUGIN_H
#define RINGWAY_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RW_ABI_MAJOR 1
#define RW_ABI_MINOR 0
#define RW_ENTRY_SYMBOL "ringway_plugin_entry"

/* Hook results. Any value not listed counts as RW_FAIL. */
#define RW_CONTINUE 0 /* go on; edits made through the callbacks apply to the message at hand */
#define RW_RESPOND 1  /* answer with the response built through the callbacks */
#define RW_REJECT 2   /* answer with the error given to set_error (a deliberate refusal) */
#define RW_STREAM 3   /* pre_llm only: answer with the events given to push_chunk */
#define RW_SKIP 4     /* stream_chunk only: drop this event */
#define RW_FAIL 5     /* the plugin failed: 500, instance disabled on this core, counted */

/* Callback results. */
#define RW_OK 0
#define RW_INVALID 1 /* bad header name/value, status out of range, framing header, not UTF-8 */

/* Flags. */
#define RW_FLAG_STREAM 1u /* the body is an SSE stream (body empty; events via stream_chunk) */
#define RW_FLAG_ERROR 2u  /* RwLlmResponse: the body is Bifrost's error JSON */

/* Log levels. */
#define RW_LOG_ERROR 0
#define RW_LOG_WARN 1
#define RW_LOG_INFO 2
#define RW_LOG_DEBUG 3

/* A borrowed UTF-8 string, not NUL-terminated; ptr may be NULL when len is 0. */
typedef struct RwStr {
    const uint8_t *ptr;
    size_t len;
} RwStr;

/* A borrowed byte string; ptr may be NULL when len is 0. */
typedef struct RwBytes {
    const uint8_t *ptr;
    size_t len;
} RwBytes;

/* One header field, borrowed from the host (compare names case-insensitively). */
typedef struct RwHeader {
    RwStr name;
    RwStr value;
} RwHeader;

/* The host's per-call output handle: opaque, valid only during the call it was passed to. */
typedef struct RwOut RwOut;

/* Per-call facts, borrowed for the call. */
typedef struct RwCall {
    uint32_t size;       /* sizeof(RwCall) as the host knows it */
    uint32_t core;       /* worker running the call */
    uint64_t request_id; /* identifies the request across its hooks */
    uint64_t *slot;      /* this plugin's per-request word: 0 at first, kept across hooks */
} RwCall;

/* An HTTP request (http_pre, http_post), borrowed for the call. */
typedef struct RwHttpRequest {
    uint32_t size;
    uint32_t flags; /* reserved, 0 */
    RwStr method;
    RwStr path;  /* without the query */
    RwStr query; /* after '?', empty if none */
    const RwHeader *headers;
    size_t headers_len;
    RwBytes body; /* as modified by earlier plugins */
} RwHttpRequest;

/* An HTTP response (http_post), borrowed for the call. */
typedef struct RwHttpResponse {
    uint32_t size;
    uint32_t status;
    uint32_t flags; /* RW_FLAG_STREAM */
    uint32_t reserved;
    const RwHeader *headers; /* framing headers (content-length...) not included */
    size_t headers_len;
    RwBytes body;
} RwHttpResponse;

/* An inference request (pre_llm), borrowed for the call. */
typedef struct RwLlmRequest {
    uint32_t size;
    uint32_t flags;     /* RW_FLAG_STREAM when the client asked for a stream */
    RwStr request_type; /* Bifrost's name: chat_completion, chat_completion_stream, embedding... */
    RwStr provider;
    RwStr model; /* without the provider prefix */
    const RwHeader *headers;
    size_t headers_len;
    RwBytes body; /* OpenAI-shaped JSON, as modified by earlier plugins */
} RwLlmRequest;

/* An inference response or error (post_llm), borrowed for the call. */
typedef struct RwLlmResponse {
    uint32_t size;
    uint32_t status;
    uint32_t flags; /* RW_FLAG_STREAM, RW_FLAG_ERROR */
    uint32_t reserved;
    RwStr request_type;
    RwStr provider;
    RwStr model;
    const RwHeader *headers;
    size_t headers_len;
    RwBytes body; /* response JSON, Bifrost's error JSON, or empty for streams */
} RwLlmResponse;

/* One server-sent event (stream_chunk), borrowed for the call. */
typedef struct RwStreamChunk {
    uint32_t size;
    uint32_t reserved;
    RwBytes event; /* the whole event, framing included, e.g. "data: {...}\n\n" */
} RwStreamChunk;

/* Host callbacks. The table lives for the whole process; every function copies its arguments
 * before returning. "The message" is what the current hook builds or edits: the request in
 * http_pre/pre_llm with RW_CONTINUE, the response otherwise, the event in stream_chunk. */
typedef struct RwHostApi {
    uint32_t size; /* check before using a field added after 1.0 */
    uint16_t abi_major;
    uint16_t abi_minor;
    void (*log)(RwOut *out, uint32_t level, RwStr msg);
    uint32_t (*set_status)(RwOut *out, uint32_t status);           /* 200..=599 */
    uint32_t (*set_header)(RwOut *out, RwStr name, RwStr value);   /* replaces that name */
    uint32_t (*remove_header)(RwOut *out, RwStr name);
    uint32_t (*set_body)(RwOut *out, RwBytes body);
    /* the error for RW_REJECT (status 400..=599, else 500; kind/code may be empty),
     * or the failure message for RW_FAIL */
    uint32_t (*set_error)(RwOut *out, uint32_t status, RwStr kind, RwStr code, RwStr message);
    uint32_t (*push_chunk)(RwOut *out, RwBytes event); /* one complete SSE event */
} RwHostApi;

/* Plugin functions. Every pointer may be NULL (not implemented). */
typedef uint32_t (*RwConfigNewFn)(const RwHostApi *host, RwBytes config_json, void **state_out,
                                  RwOut *out);
typedef void (*RwConfigFreeFn)(void *state);
typedef uint32_t (*RwInstanceNewFn)(void *state, const RwHostApi *host, uint32_t core,
                                    void **instance_out, RwOut *out);
typedef void (*RwInstanceFreeFn)(void *instance);
typedef uint32_t (*RwHttpPreFn)(void *instance, const RwCall *call, const RwHttpRequest *req,
                                RwOut *out);
typedef uint32_t (*RwPreLlmFn)(void *instance, const RwCall *call, const RwLlmRequest *req,
                               RwOut *out);
typedef uint32_t (*RwPostLlmFn)(void *instance, const RwCall *call, const RwLlmResponse *res,
                                RwOut *out);
typedef uint32_t (*RwHttpPostFn)(void *instance, const RwCall *call, const RwHttpRequest *req,
                                 const RwHttpResponse *res, RwOut *out);
typedef uint32_t (*RwStreamChunkFn)(void *instance, const RwCall *call,
                                    const RwStreamChunk *chunk, RwOut *out);

/* What the plugin is. Static data of the plugin; the host copies it at load. */
typedef struct RwPluginDescriptor {
    uint32_t size; /* sizeof(RwPluginDescriptor) as the plugin was compiled */
    uint16_t abi_major;
    uint16_t abi_minor;
    RwStr name;
    RwStr version;
    RwConfigNewFn config_new;       /* once, control thread; RW_CONTINUE accepts the config */
    RwConfigFreeFn config_free;     /* once, after all instances; stop your threads */
    RwInstanceNewFn instance_new;   /* once per worker, on that worker */
    RwInstanceFreeFn instance_free; /* on the worker that created the instance */
    RwHttpPreFn http_pre;
    RwPreLlmFn pre_llm;
    RwPostLlmFn post_llm;
    RwHttpPostFn http_post;
    RwStreamChunkFn stream_chunk;
} RwPluginDescriptor;

/* Bytes of a descriptor up to and including `version`: the least a plugin may declare. */
#define RW_DESCRIPTOR_MIN_SIZE offsetof(RwPluginDescriptor, config_new)

/* Bytes of a host table with every 1.0 callback: the least a plugin may rely on. */
#define RW_HOST_API_MIN_SIZE (offsetof(RwHostApi, push_chunk) + sizeof(void *))

/* Helper: an RwStr from a string literal. */
#define RW_STR_LIT(s) ((RwStr){(const uint8_t *)(s), sizeof(s) - 1})

typedef const RwPluginDescriptor *(*RwEntryFn)(void);

#ifdef __cplusplus
}
#endif

#endif /* RINGWAY_PLUGIN_H */
