//! The C header must describe exactly the Rust types: every size, alignment, field offset and
//! constant of `include/ringway_plugin.h` is checked by compiling static assertions generated
//! from the Rust definitions. The C examples must compile warning-free against it.
//!
//! Needs a C compiler (`cc`, or `$CC`).

use std::fmt::Write as _;
use std::mem::{align_of, offset_of, size_of};
use std::path::{Path, PathBuf};
use std::process::Command;

use ringway_plugins_abi::abi::*;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".to_string())
}

/// Compiles `source` with the header on the include path; panics with the compiler's output.
fn compile(source: &Path, extra: &[&str]) {
    let include = crate_dir().join("include");
    let out = Command::new(cc())
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(&include)
        .args(extra)
        .arg(source)
        .output()
        .expect("a C compiler (cc) is needed for the ABI header tests");
    assert!(
        out.status.success(),
        "compiling {} failed:\n{}",
        source.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

macro_rules! layout {
    ($c:ident, $ty:ident { $($field:ident),* $(,)? }) => {{
        let name = stringify!($ty);
        writeln!($c, "_Static_assert(sizeof({name}) == {}, \"sizeof {name}\");", size_of::<$ty>())
            .expect("write");
        writeln!($c, "_Static_assert(_Alignof({name}) == {}, \"alignof {name}\");", align_of::<$ty>())
            .expect("write");
        $(
            writeln!(
                $c,
                "_Static_assert(offsetof({name}, {f}) == {}, \"offsetof {name}.{f}\");",
                offset_of!($ty, $field),
                f = stringify!($field),
            )
            .expect("write");
        )*
    }};
}

macro_rules! constants {
    ($c:ident, $($name:ident),* $(,)?) => {{
        $(
            writeln!(
                $c,
                "_Static_assert({n} == {}, \"{n}\");",
                $name as u64,
                n = stringify!($name),
            )
            .expect("write");
        )*
    }};
}

#[test]
fn header_matches_rust_layout() {
    let mut c = String::from("#include <stddef.h>\n#include \"ringway_plugin.h\"\n");
    layout!(c, RwStr { ptr, len });
    layout!(c, RwBytes { ptr, len });
    layout!(c, RwHeader { name, value });
    layout!(
        c,
        RwCall {
            size,
            core,
            request_id,
            slot
        }
    );
    layout!(
        c,
        RwHttpRequest {
            size,
            flags,
            method,
            path,
            query,
            headers,
            headers_len,
            body
        }
    );
    layout!(
        c,
        RwHttpResponse {
            size,
            status,
            flags,
            reserved,
            headers,
            headers_len,
            body
        }
    );
    layout!(
        c,
        RwLlmRequest {
            size,
            flags,
            request_type,
            provider,
            model,
            headers,
            headers_len,
            body
        }
    );
    layout!(
        c,
        RwLlmResponse {
            size,
            status,
            flags,
            reserved,
            request_type,
            provider,
            model,
            headers,
            headers_len,
            body
        }
    );
    layout!(
        c,
        RwStreamChunk {
            size,
            reserved,
            event
        }
    );
    layout!(
        c,
        RwHostApi {
            size,
            abi_major,
            abi_minor,
            log,
            set_status,
            set_header,
            remove_header,
            set_body,
            set_error,
            push_chunk
        }
    );
    layout!(
        c,
        RwPluginDescriptor {
            size,
            abi_major,
            abi_minor,
            name,
            version,
            config_new,
            config_free,
            instance_new,
            instance_free,
            http_pre,
            pre_llm,
            post_llm,
            http_post,
            stream_chunk
        }
    );
    constants!(
        c,
        RW_ABI_MAJOR,
        RW_ABI_MINOR,
        RW_CONTINUE,
        RW_RESPOND,
        RW_REJECT,
        RW_STREAM,
        RW_SKIP,
        RW_FAIL,
        RW_OK,
        RW_INVALID,
        RW_FLAG_STREAM,
        RW_FLAG_ERROR,
        RW_LOG_ERROR,
        RW_LOG_WARN,
        RW_LOG_INFO,
        RW_LOG_DEBUG,
        RW_DESCRIPTOR_MIN_SIZE,
        RW_HOST_API_MIN_SIZE,
    );
    writeln!(
        c,
        "_Static_assert(sizeof(RW_ENTRY_SYMBOL) - 1 == {}, \"entry symbol length\");",
        RW_ENTRY_SYMBOL.len()
    )
    .expect("write");
    let dir = std::env::temp_dir().join(format!("ringway-abi-header-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let src = dir.join("layout.c");
    std::fs::write(&src, &c).expect("write layout.c");
    compile(&src, &["-fsyntax-only"]);
    let header = std::fs::read_to_string(crate_dir().join("include/ringway_plugin.h"))
        .expect("read the header");
    assert!(
        header.contains(&format!("\"{RW_ENTRY_SYMBOL}\"")),
        "the header names the entry symbol"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn c_examples_compile_cleanly() {
    let dir = std::env::temp_dir().join(format!("ringway-abi-c-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (file, defines) in [
        ("hello.c", &[][..]),
        ("hello.c", &["-DHELLO_OLD_DESCRIPTOR"][..]),
        ("abi_mismatch.c", &[][..]),
    ] {
        let out = dir.join(format!("lib{}.so", file.trim_end_matches(".c")));
        let mut args = vec!["-shared", "-fPIC", "-o"];
        let out_s = out.to_string_lossy().into_owned();
        args.push(&out_s);
        args.extend_from_slice(defines);
        compile(&crate_dir().join("examples/c").join(file), &args);
        assert!(out.exists(), "{file} produced a library");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
