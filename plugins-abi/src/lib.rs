//! Stable C ABI shared by ringway and its native plugins (filled in by the plugins issue).
