//! Names Bifrost knows but ringway does not model (yet): kept verbatim without an "unknown field"
//! warning. From Bifrost's `transports/config.schema.json` (commit 003ecc6) and newer docs.

/// Top-level sections of `config.json` that ringway does not implement yet.
pub const TOP_LEVEL_SECTIONS: &[&str] = &[
    "access_profiles",
    "alerting",
    "audit_logs",
    "auth_config",
    "circuit_breaker_config",
    "cluster_config",
    "config_store",
    "encryption_key",
    "env_label",
    "feature_flags",
    "framework",
    "governance",
    "guardrails_config",
    "large_payload_optimization",
    "load_balancer_config",
    "mcp",
    "plugins",
    "scim_config",
    "server",
    "skills_registry",
    "source_of_truth",
    "vector_store",
    "webhooks",
    "websocket",
];

/// Top-level sections read at start-up outside the config model (`admin::boot`).
pub const TOP_LEVEL_AT_BOOT: &[&str] = &["logs_store"];

/// Top-level members that carry no behaviour and never warrant a warning.
pub const TOP_LEVEL_SILENT: &[&str] = &["$schema"];

/// `client` fields kept in `ClientConfig::other`.
pub const CLIENT: &[&str] = &[
    "allow_direct_keys",
    "allow_per_request_content_storage_override",
    "allow_per_request_raw_override",
    "async_job_result_ttl",
    "compat",
    "delete_expired_virtual_keys",
    "disable_db_pings_in_health",
    "dual_credential_conflict_behavior",
    "dump_errors_in_console_logs",
    "enforce_governance_header",
    "enforce_scim_auth",
    "hidden_request_types",
    "hide_deleted_virtual_keys_in_filters",
    "mcp_agent_depth",
    "mcp_code_mode_binding_level",
    "mcp_disable_auto_tool_inject",
    "mcp_enable_temp_token_auth",
    "mcp_external_client_url",
    "mcp_server_auth_mode",
    "mcp_tool_execution_timeout",
    "mcp_tool_sync_interval",
    "oauth2_server_config",
    "retain_content_in_object_storage",
    "routing_chain_max_depth",
    "webhook_config",
];

/// Provider fields kept in `ProviderConfig::other`.
pub const PROVIDER: &[&str] = &[
    "store_raw_request_response",
    "openai_config",
    "metadata",
    "tags",
    "config_hash",
];

/// `network_config` fields kept in `NetworkConfig::other`.
pub const NETWORK: &[&str] = &[
    "enforce_http2",
    "beta_header_overrides",
    "stream_throughput_guard",
];

/// Key fields kept in `Key::other`.
pub const KEY: &[&str] = &[
    "aliases",
    "description",
    "config_hash",
    "status",
    "openai_key_config",
    "replicate_key_config",
    "huggingface_key_config",
    "bedrock_mantle_key_config",
    "sapaicore_key_config",
];

/// `azure_key_config` fields kept in `other`.
pub const AZURE_KEY: &[&str] = &[];

/// `vertex_key_config` fields kept in `other`.
pub const VERTEX_KEY: &[&str] = &["force_single_region"];

/// `bedrock_key_config` fields kept in `other`.
pub const BEDROCK_KEY: &[&str] = &["batch_s3_config"];

/// `custom_provider_config.allowed_requests` operation names.
pub const REQUEST_TYPES: &[&str] = &[
    "list_models",
    "text_completion",
    "text_completion_stream",
    "chat_completion",
    "chat_completion_stream",
    "responses",
    "responses_stream",
    "responses_retrieve",
    "responses_delete",
    "responses_cancel",
    "responses_input_items",
    "count_tokens",
    "compaction",
    "embedding",
    "rerank",
    "ocr",
    "speech",
    "speech_stream",
    "transcription",
    "transcription_stream",
    "image_generation",
    "image_generation_stream",
    "image_edit",
    "image_edit_stream",
    "image_variation",
    "video_generation",
    "video_retrieve",
    "video_download",
    "video_delete",
    "video_list",
    "video_remix",
    "batch_create",
    "batch_list",
    "batch_retrieve",
    "batch_cancel",
    "batch_delete",
    "batch_results",
    "file_upload",
    "file_list",
    "file_retrieve",
    "file_delete",
    "file_content",
    "container_create",
    "container_list",
    "container_retrieve",
    "container_delete",
    "container_file_create",
    "container_file_list",
    "container_file_retrieve",
    "container_file_content",
    "container_file_delete",
    "passthrough",
    "passthrough_stream",
    "websocket_responses",
    "realtime",
    "cached_content_create",
    "cached_content_list",
    "cached_content_retrieve",
    "cached_content_update",
    "cached_content_delete",
];

/// Providers in Bifrost's config schema that are neither in the provider table nor in
/// `catalog::KNOWN_UNSUPPORTED`: accepted with the same "not served yet" warning.
pub const EXTRA_BIFROST_PROVIDERS: &[&str] = &["deepgram"];
