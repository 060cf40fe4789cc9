//! Every route of the management API, in one table: the dispatcher matches against it and the
//! OpenAPI test checks that each entry is documented.

use crate::http::head::Method;

/// What a matched route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteId {
    /// `GET /api/providers`
    ListProviders,
    /// `POST /api/providers`
    CreateProvider,
    /// `GET /api/providers/{provider}`
    GetProvider,
    /// `PUT /api/providers/{provider}`
    UpdateProvider,
    /// `DELETE /api/providers/{provider}`
    DeleteProvider,
    /// `GET /api/providers/{provider}/keys`
    ListKeys,
    /// `POST /api/providers/{provider}/keys`
    CreateKey,
    /// `GET /api/providers/{provider}/keys/{key_id}`
    GetKey,
    /// `PUT /api/providers/{provider}/keys/{key_id}`
    UpdateKey,
    /// `DELETE /api/providers/{provider}/keys/{key_id}`
    DeleteKey,
    /// `GET /api/proxy-config`
    GetProxyConfig,
    /// `PUT /api/proxy-config`
    UpdateProxyConfig,
    /// `GET /api/config`
    GetConfig,
    /// `PUT /api/config`
    UpdateConfig,
    /// `GET /api/version`
    Version,
    /// `POST /api/session/login`
    Login,
    /// `POST /api/session/logout`
    Logout,
    /// `GET /api/session/is-auth-enabled`
    IsAuthEnabled,
    /// `GET /api/openapi.json`
    OpenApi,
    /// `GET /api/plugins`
    ListPlugins,
    /// `POST /api/plugins`
    CreatePlugin,
    /// `GET /api/plugins/{name}`
    GetPlugin,
    /// `PUT /api/plugins/{name}`
    UpdatePlugin,
    /// `DELETE /api/plugins/{name}`
    DeletePlugin,
    /// `GET /api/logs`
    ListLogs,
    /// `GET /api/logs/stats`
    LogStats,
    /// `GET /api/logs/dropped`
    DroppedLogs,
    /// `GET /api/logs/{id}`
    GetLog,
    /// `DELETE /api/logs`
    DeleteLogs,
    /// Not a route: a worker asking whether an inference request's credentials are valid.
    InferenceAuth,
}

/// One route.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// Method.
    pub method: Method,
    /// Path pattern; `{name}` matches one non-empty segment.
    pub pattern: &'static str,
    /// Handler.
    pub id: RouteId,
    /// Served without admin credentials.
    pub public: bool,
}

const fn route(method: Method, pattern: &'static str, id: RouteId) -> Route {
    Route {
        method,
        pattern,
        id,
        public: false,
    }
}

const fn public(method: Method, pattern: &'static str, id: RouteId) -> Route {
    Route {
        method,
        pattern,
        id,
        public: true,
    }
}

/// The management API.
pub const ROUTES: &[Route] = &[
    route(Method::Get, "/api/providers", RouteId::ListProviders),
    route(Method::Post, "/api/providers", RouteId::CreateProvider),
    route(
        Method::Get,
        "/api/providers/{provider}",
        RouteId::GetProvider,
    ),
    route(
        Method::Put,
        "/api/providers/{provider}",
        RouteId::UpdateProvider,
    ),
    route(
        Method::Delete,
        "/api/providers/{provider}",
        RouteId::DeleteProvider,
    ),
    route(
        Method::Get,
        "/api/providers/{provider}/keys",
        RouteId::ListKeys,
    ),
    route(
        Method::Post,
        "/api/providers/{provider}/keys",
        RouteId::CreateKey,
    ),
    route(
        Method::Get,
        "/api/providers/{provider}/keys/{key_id}",
        RouteId::GetKey,
    ),
    route(
        Method::Put,
        "/api/providers/{provider}/keys/{key_id}",
        RouteId::UpdateKey,
    ),
    route(
        Method::Delete,
        "/api/providers/{provider}/keys/{key_id}",
        RouteId::DeleteKey,
    ),
    route(Method::Get, "/api/proxy-config", RouteId::GetProxyConfig),
    route(Method::Put, "/api/proxy-config", RouteId::UpdateProxyConfig),
    route(Method::Get, "/api/config", RouteId::GetConfig),
    route(Method::Put, "/api/config", RouteId::UpdateConfig),
    route(Method::Get, "/api/version", RouteId::Version),
    public(Method::Post, "/api/session/login", RouteId::Login),
    route(Method::Post, "/api/session/logout", RouteId::Logout),
    public(
        Method::Get,
        "/api/session/is-auth-enabled",
        RouteId::IsAuthEnabled,
    ),
    route(Method::Get, "/api/openapi.json", RouteId::OpenApi),
    route(Method::Get, "/api/plugins", RouteId::ListPlugins),
    route(Method::Post, "/api/plugins", RouteId::CreatePlugin),
    route(Method::Get, "/api/plugins/{name}", RouteId::GetPlugin),
    route(Method::Put, "/api/plugins/{name}", RouteId::UpdatePlugin),
    route(Method::Delete, "/api/plugins/{name}", RouteId::DeletePlugin),
    route(Method::Get, "/api/logs", RouteId::ListLogs),
    route(Method::Delete, "/api/logs", RouteId::DeleteLogs),
    // Before `{id}`: the first matching pattern wins.
    route(Method::Get, "/api/logs/stats", RouteId::LogStats),
    route(Method::Get, "/api/logs/dropped", RouteId::DroppedLogs),
    route(Method::Get, "/api/logs/{id}", RouteId::GetLog),
];

/// Why no route matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    /// No pattern matches the path.
    NotFound,
    /// A pattern matches, with another method.
    MethodNotAllowed,
}

/// The route for `method` and `path`, with its parameters percent-decoded in pattern order.
pub fn find(method: Method, path: &str) -> Result<(&'static Route, Vec<String>), Miss> {
    let mut path_matched = false;
    for r in ROUTES {
        let Some(params) = match_pattern(r.pattern, path) else {
            continue;
        };
        // HEAD is served as GET (the connection layer drops the body).
        if r.method == method || (method == Method::Head && r.method == Method::Get) {
            return Ok((r, params));
        }
        path_matched = true;
    }
    Err(if path_matched {
        Miss::MethodNotAllowed
    } else {
        Miss::NotFound
    })
}

/// Matches `path` against `pattern`; `None` if it does not match or a parameter is not valid
/// percent-encoded UTF-8.
fn match_pattern(pattern: &str, path: &str) -> Option<Vec<String>> {
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    let mut params = Vec::new();
    let mut pat = pattern.split('/');
    let mut segs = path.split('/');
    loop {
        match (pat.next(), segs.next()) {
            (None, None) => return Some(params),
            (Some(p), Some(s)) if p.starts_with('{') => {
                if s.is_empty() {
                    return None;
                }
                params.push(percent_decode(s)?);
            }
            (Some(p), Some(s)) if p == s => {}
            _ => return None,
        }
    }
}

/// Decodes `%XX` escapes (Bifrost unescapes path parameters the same way).
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_params_and_methods() {
        let (r, p) = find(Method::Put, "/api/providers/openai/keys/k%201").expect("match");
        assert_eq!(r.id, RouteId::UpdateKey);
        assert_eq!(p, ["openai", "k 1"]);
        let (r, p) = find(Method::Get, "/api/providers/").expect("trailing slash");
        assert_eq!((r.id, p.len()), (RouteId::ListProviders, 0));
        assert_eq!(
            find(Method::Patch, "/api/providers/openai").err(),
            Some(Miss::MethodNotAllowed)
        );
        assert_eq!(find(Method::Get, "/api/nope").err(), Some(Miss::NotFound));
        assert_eq!(
            find(Method::Get, "/api/providers//keys").err(),
            Some(Miss::NotFound)
        );
        assert_eq!(
            find(Method::Get, "/api/providers/%zz").err(),
            Some(Miss::NotFound)
        );
        let (r, _) = find(Method::Head, "/api/config").expect("head as get");
        assert_eq!(r.id, RouteId::GetConfig);
    }

    #[test]
    fn only_login_and_is_auth_enabled_are_public() {
        let public: Vec<&str> = ROUTES
            .iter()
            .filter(|r| r.public)
            .map(|r| r.pattern)
            .collect();
        assert_eq!(
            public,
            ["/api/session/login", "/api/session/is-auth-enabled"]
        );
    }
}
