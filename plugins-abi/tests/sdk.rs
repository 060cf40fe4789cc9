//! The SDK's exported functions, driven through the raw ABI by a minimal fake host: panics and
//! faults become `RW_FAIL` with a message, actions map to their codes, unimplemented hooks are
//! null, and a host of another major is refused.

use std::cell::RefCell;
use std::ffi::c_void;
use std::ptr;

use ringway_plugins_abi::abi::*;
use ringway_plugins_abi::sdk::export::descriptor;
use ringway_plugins_abi::sdk::{
    Action, Config, Cx, Fault, HookSet, Host, Instance, LlmRequest, Plugin, StreamChunk,
};

thread_local! {
    static CALLS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn record(s: String) {
    CALLS.with(|c| c.borrow_mut().push(s));
}

fn take() -> Vec<String> {
    CALLS.with(|c| std::mem::take(&mut *c.borrow_mut()))
}

fn text(s: RwStr) -> String {
    // SAFETY: the plugin passes valid strings for the call.
    String::from_utf8_lossy(unsafe { s.as_bytes() }).into_owned()
}

unsafe extern "C" fn log(_: *mut RwOut, level: u32, msg: RwStr) {
    record(format!("log {level} {}", text(msg)));
}
unsafe extern "C" fn set_status(_: *mut RwOut, status: u32) -> u32 {
    record(format!("status {status}"));
    RW_OK
}
unsafe extern "C" fn set_header(_: *mut RwOut, n: RwStr, v: RwStr) -> u32 {
    record(format!("header {}: {}", text(n), text(v)));
    RW_OK
}
unsafe extern "C" fn remove_header(_: *mut RwOut, n: RwStr) -> u32 {
    record(format!("remove {}", text(n)));
    RW_OK
}
unsafe extern "C" fn set_body(_: *mut RwOut, b: RwBytes) -> u32 {
    // SAFETY: valid for the call.
    let body = unsafe { b.as_slice() }.unwrap_or_default();
    record(format!("body {}", String::from_utf8_lossy(body)));
    RW_OK
}
unsafe extern "C" fn set_error(_: *mut RwOut, st: u32, k: RwStr, c: RwStr, m: RwStr) -> u32 {
    record(format!("error {st} {} {} {}", text(k), text(c), text(m)));
    RW_OK
}
unsafe extern "C" fn push_chunk(_: *mut RwOut, e: RwBytes) -> u32 {
    // SAFETY: valid for the call.
    let event = unsafe { e.as_slice() }.unwrap_or_default();
    record(format!("chunk {:?}", String::from_utf8_lossy(event)));
    RW_OK
}

static HOST: RwHostApi = RwHostApi {
    size: size_u32::<RwHostApi>(),
    abi_major: RW_ABI_MAJOR,
    abi_minor: RW_ABI_MINOR,
    log,
    set_status,
    set_header,
    remove_header,
    set_body,
    set_error,
    push_chunk,
};

static OTHER_HOST: RwHostApi = RwHostApi {
    abi_major: RW_ABI_MAJOR + 1,
    ..HOST
};

struct Probe;
struct ProbeCore(u32);

impl Plugin for Probe {
    const NAME: &'static str = "probe";
    const VERSION: &'static str = "9";
    const HOOKS: HookSet = HookSet::PRE_LLM.with(HookSet::STREAM_CHUNK);
    type Instance = ProbeCore;

    fn new(config: Config<'_>, host: &Host<'_>) -> Result<Self, Fault> {
        host.log(
            ringway_plugins_abi::sdk::Level::Info,
            config.as_str().unwrap_or("?"),
        );
        Ok(Probe)
    }

    fn instance(&self, core: u32) -> Result<ProbeCore, Fault> {
        Ok(ProbeCore(core))
    }
}

impl Instance for ProbeCore {
    fn pre_llm(&mut self, cx: &mut Cx<'_>, req: &LlmRequest<'_>) -> Result<Action, Fault> {
        match req.model() {
            "panic" => panic!("boom on core {}", self.0),
            "fault" => Err("bad input".into()),
            "parse" => Ok("x".parse::<u32>().map(|_| Action::Continue)?),
            "respond" => {
                cx.set_status(201);
                cx.set_header("x-probe", "1");
                cx.set_body(b"{}");
                Ok(Action::Respond)
            }
            "stream" => {
                cx.push_sse_data(b"[DONE]");
                Ok(Action::Stream)
            }
            "reject" => Ok(cx.reject(429, "rate", "", "slow down")),
            _ => {
                cx.set_slot(cx.slot() + 1);
                Ok(Action::Continue)
            }
        }
    }

    fn stream_chunk(&mut self, _cx: &mut Cx<'_>, chunk: &StreamChunk<'_>) -> Result<Action, Fault> {
        record(format!(
            "data {:?}",
            chunk.data().map(String::from_utf8_lossy)
        ));
        Ok(Action::Skip)
    }
}

static PROBE: RwPluginDescriptor = descriptor::<Probe>();

/// Runs config_new + instance_new on the fake host.
fn instance() -> (*mut c_void, *mut c_void) {
    let mut state = ptr::null_mut();
    let cfg = br#"{"k":1}"#;
    let out = ptr::null_mut();
    // SAFETY: the ABI's arguments; the fake host ignores `out`.
    let code =
        unsafe { PROBE.config_new.expect("config_new")(&HOST, RwBytes::new(cfg), &mut state, out) };
    assert_eq!(code, RW_CONTINUE);
    let mut inst = ptr::null_mut();
    // SAFETY: as above.
    let code =
        unsafe { PROBE.instance_new.expect("instance_new")(state, &HOST, 3, &mut inst, out) };
    assert_eq!(code, RW_CONTINUE);
    (state, inst)
}

fn pre_llm(inst: *mut c_void, model: &str, slot: &mut u64) -> u32 {
    let call = RwCall {
        size: size_u32::<RwCall>(),
        core: 3,
        request_id: 1,
        slot,
    };
    let req = RwLlmRequest {
        size: size_u32::<RwLlmRequest>(),
        flags: 0,
        request_type: RwStr::new("chat_completion"),
        provider: RwStr::new("openai"),
        model: RwStr::new(model),
        headers: ptr::null(),
        headers_len: 0,
        body: RwBytes::EMPTY,
    };
    // SAFETY: the ABI's arguments, valid for the call.
    unsafe { PROBE.pre_llm.expect("pre_llm")(inst, &call, &req, ptr::null_mut()) }
}

#[test]
fn descriptor_reflects_the_plugin() {
    assert_eq!(PROBE.abi_major, RW_ABI_MAJOR);
    assert_eq!(PROBE.size as usize, size_of::<RwPluginDescriptor>());
    assert_eq!(text(PROBE.name), "probe");
    assert_eq!(text(PROBE.version), "9");
    assert!(PROBE.pre_llm.is_some() && PROBE.stream_chunk.is_some());
    assert!(PROBE.http_pre.is_none() && PROBE.post_llm.is_none() && PROBE.http_post.is_none());
}

#[test]
fn actions_faults_and_panics() {
    take();
    let (state, inst) = instance();
    assert_eq!(take(), [r#"log 2 {"k":1}"#]);
    let mut slot = 0;
    assert_eq!(pre_llm(inst, "gpt", &mut slot), RW_CONTINUE);
    assert_eq!(pre_llm(inst, "gpt", &mut slot), RW_CONTINUE);
    assert_eq!(slot, 2, "the slot is the host's word, kept across calls");
    assert_eq!(pre_llm(inst, "respond", &mut slot), RW_RESPOND);
    assert_eq!(take(), ["status 201", "header x-probe: 1", "body {}"]);
    assert_eq!(pre_llm(inst, "stream", &mut slot), RW_STREAM);
    assert_eq!(take(), [r#"chunk "data: [DONE]\n\n""#]);
    assert_eq!(pre_llm(inst, "reject", &mut slot), RW_REJECT);
    assert_eq!(take(), ["error 429 rate  slow down"]);
    assert_eq!(pre_llm(inst, "fault", &mut slot), RW_FAIL);
    assert_eq!(take(), ["error 500 plugin_error  bad input"]);
    assert_eq!(pre_llm(inst, "parse", &mut slot), RW_FAIL);
    assert_eq!(
        take(),
        ["error 500 plugin_error  invalid digit found in string"]
    );
    assert_eq!(pre_llm(inst, "panic", &mut slot), RW_FAIL);
    assert_eq!(take(), ["error 500 plugin_error  panicked: boom on core 3"]);
    // Still usable after a panic (the host decides to disable it).
    assert_eq!(pre_llm(inst, "gpt", &mut slot), RW_CONTINUE);

    let chunk = RwStreamChunk {
        size: size_u32::<RwStreamChunk>(),
        reserved: 0,
        event: RwBytes::new(b"event: x\r\ndata: {\"a\":1}\r\n\r\n"),
    };
    let call = RwCall {
        size: size_u32::<RwCall>(),
        core: 3,
        request_id: 1,
        slot: &mut slot,
    };
    // SAFETY: the ABI's arguments.
    let code =
        unsafe { PROBE.stream_chunk.expect("stream_chunk")(inst, &call, &chunk, ptr::null_mut()) };
    assert_eq!(code, RW_SKIP);
    assert_eq!(take(), [r#"data Some("{\"a\":1}")"#]);

    // SAFETY: freed once each, instance first.
    unsafe {
        PROBE.instance_free.expect("instance_free")(inst);
        PROBE.config_free.expect("config_free")(state);
    }
}

#[test]
fn a_host_of_another_major_is_refused() {
    let mut state = ptr::null_mut();
    // SAFETY: the ABI's arguments.
    let code = unsafe {
        PROBE.config_new.expect("config_new")(
            &OTHER_HOST,
            RwBytes::EMPTY,
            &mut state,
            ptr::null_mut(),
        )
    };
    assert_eq!(code, RW_FAIL);
    assert!(state.is_null());
}
