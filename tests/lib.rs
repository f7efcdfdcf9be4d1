//! End-to-end API tests live in `api/`; this library is intentionally empty.
