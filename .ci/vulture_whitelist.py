# ruff: noqa
# Names vulture cannot see being used: called by frameworks, read by libraries, or looked up
# by value. `vulture service migrations .ci/vulture_whitelist.py --min-confidence 60`.

# Alembic reads these module variables of every migration.
down_revision
branch_labels
depends_on

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

# Engine code the issue lists as dead; the engine is rewritten under issue 10, which removes
# them (the server-write part may not edit engine/). Delete these lines with them.
shifted
_.with_node
_.caret

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
