# ruff: noqa
# Names vulture cannot see being used: called by frameworks, read by libraries, or looked up
# by value. `vulture service migrations .ci/vulture_whitelist.py --min-confidence 60`.

# Alembic reads these module variables of every migration.
down_revision
branch_labels
depends_on

# Typer commands (registered by decorator).
serve
create

# FastAPI routes (registered by decorator), Starlette's response class attribute.
healthz
readyz
lr_at
media_type

# pydantic: model configuration, validators (registered by decorator), request fields.
model_config
_._same_length
_._known_level
_._tokens_parse
_._json_choice
_._fill_warnings
_._default_start
rank
world_size
local_rank
pid
warnings

# SQLAlchemy: event hooks and compiler functions registered by decorator, DBAPI settings,
# declarative configuration, mapped columns.
_on_connect
_on_begin
_.isolation_level
_greatest_default
_greatest_sqlite
inherit_cache
type_annotation_map
last_seen

# logging configuration set on library objects.
_.converter
_.handlers

# Event kinds looked up by value (EventKind(decision["kind"])).
PLATEAU
STOP

# Inspection used by the API tests: the compiled-run cache, the listener's backend pid.
_.peek
_.server_pid

# MetricState's JSON form: part of the engine's contract (docs/contracts.md), used by tests.
_.to_json
_.from_json

# The engine's cost record and limits: published fields (GET /v1/limits, docs/schedules.md).
_.expression_chars
_.expression_ops
_.elementwise_ops
_.request_us
_.window_steps
_.max_expression_chars

# Engine code vulture cannot see used (an error's display form).
_.caret

# GET /v1/limits: response fields of the engine's limits (pydantic reads them).
_.budget_ms
_.window_steps
_.max_expression_chars
_.coefficients

# Response bodies (api/bodies.py): fields the OpenAPI document and its tests read;
# the offline documentation pages (routes registered by decorator).
momentum
start_step
min_div10
range_test
suggested_lr
stop_reason
stop_step
stop_lr
schema_
swagger_ui
redoc
fold_snapshots
idempotency_keys
forced

# Compat forms (engine/compat/): spec fields read by name (getattr over timm's argument
# table, pydantic's dump of the stored spec) and the event kind of a GreedyLR change.
t_initial
decay_rate
lr_min
cycle_mul
cycle_decay
warmup_t
warmup_lr_init
warmup_prefix
t_in_epochs
noise_range_t
noise_pct
noise_std
noise_seed
patience_t
cooldown_t
stable_fn
decay_fn
initialize
library_version
_given_only  # pydantic calls the serializer
GREEDY
raw_headers  # Starlette's Response reads it (api/responses.raw_response)

# The dashboard: response fields the page reads (api/bodies.py RunLive, api/view_bodies.py)
# and routes registered by decorator.
current_lr
last_report_step
live_workers
nonfinite
report_count
plotly_js
preview_curve
