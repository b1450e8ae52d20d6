"""Names vulture reports as unused that are used, by something it cannot follow.

Run: ``.venv/bin/vulture`` (paths and confidence in ``[tool.vulture]``, pyproject.toml).
A name belongs here only with its reason; dead code is deleted, not listed.
"""
# ruff: noqa
_ = object()

# pydantic: validators are called by the model, model_config is read by the metaclass
_._adopt_or_create, _._api_key_env, _._base_url, _._created_from_id, _._credential_name
_._default_state_dir, _._domains, _._env_name, _._exclude, _._expand, _._name
_._no_link_following, _._no_literal_value, _._not_auto, _._one_source, _._ordering
_._reference_or_inline, _._remote_root
model_config

# dataclass fields written out with asdict()/to_dict() (status files, the Python API's
# report, index rows): read by their consumers, not by attribute
_.keepalive_budget_spent, _.last_cycle, _.last_keepalive, _.last_pull_check
_.last_replacement, _.replacements
keepalive_budget_spent, last_cycle, last_keepalive, last_pull_check, last_replacement
replacements, last_at, conflict_copies, would_bytes_down
DOWNLOAD  # an IntentKind spelled as its value in the index

# protocols: __exit__ and signal handler arguments, file-like seek(), overrides called by
# the library that owns the base class (watchdog, http.server, configparser, sqlite3,
# zipfile, uvicorn), the module __getattr__ of PEP 562
exc_type, tb, frame, whence, __getattr__
_._add_all_callbacks, _.on_thread_start, _.on_any_event, _.do_GET, _.log_message
_.optionxform, _.row_factory, _.compress_type, _.should_exit

# pytest: fixtures used by name, module marks
_own_cache_dir, _plain_env, limits_lock, lowers_inotify_limits, no_leaked_threads, restore_logging
tree_keeping, pytestmark

# hypothesis state machines: rules are called by the machine
_.assistant_delete, _.assistant_write, _.clean_sync_and_check, _.folder_delete
_.folder_rename, _.local_delete, _.local_delete_folder, _.local_rename
_.local_rename_folder, _.local_write, _.sync_while_assistant_writes, _.sync_with_faults


# watchdog: InotifyEmitter.build_and_queue_event calls queue_event, which RootEmitter
# overrides to hand each event to the root's handler (watch/inotify_hooks.py)
_.queue_event

# http.server.BaseHTTPRequestHandler dispatches a request to do_<METHOD> by name (the
# forwarding proxy of tests/api/test_transport.py)
_.do_POST, _.do_DELETE
