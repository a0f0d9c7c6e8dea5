-- The decide path's lookup functions (V28: decision_activity; V30: decision_parent, approval_presented,
-- credential_held) keep one plan per session, as V28 and V30 meant. Under the default plan_cache_mode (auto) PL/pgSQL
-- plans a statement's first five calls with their values and then keeps a generic plan only while it looks no
-- dearer than those. Once decision_record had real statistics, the activity count's generic plan did not, and every
-- call planned its statement again: about 0.2 ms of PostgreSQL's CPU per decision, more than the count itself
-- (pg_stat_statements with track_planning, bench/README.md). Their only plan is their key's index whatever the
-- values (sequential and bitmap scans are off), so planning for the values gains nothing.
alter function decision_activity(text, text, bigint, bigint, text, text) set plan_cache_mode = force_generic_plan;
alter function decision_parent(text, uuid, text, text, text, text) set plan_cache_mode = force_generic_plan;
alter function approval_presented(text, uuid) set plan_cache_mode = force_generic_plan;
alter function credential_held(text, text, uuid) set plan_cache_mode = force_generic_plan;
