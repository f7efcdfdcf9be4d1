//! One router per route group; each maps to one Lambda function.

/// Defines a route group from one list of handlers annotated with `#[utoipa::path]`:
/// `routed()`, the routes a function serves, read from each annotation's path and methods only
/// (building the description costs milliseconds of CPU at a cold start), and `described()`, the
/// same routes with their OpenAPI description. A second list gets the layer after `with`.
macro_rules! route_group {
    ([$($handler:ident),+ $(,)?] $(, [$($layered:ident),+ $(,)?] with $layer:expr)?) => {
        /// The group's routes, as its function serves them.
        fn routed() -> axum::Router<crate::AppState> {
            let router = axum::Router::new();
            $(let router = pastey::paste! { crate::openapi::route::<[<__path_ $handler>], _, _>(router, $handler) };)+
            $(
                let layered = axum::Router::new();
                $(let layered = pastey::paste! { crate::openapi::route::<[<__path_ $layered>], _, _>(layered, $layered) };)+
                let router = router.merge(layered.layer($layer));
            )?
            router
        }

        /// The group's routes with their OpenAPI description.
        pub fn api() -> utoipa_axum::router::OpenApiRouter<crate::AppState> {
            let described = utoipa_axum::router::OpenApiRouter::new()
                $(.routes(utoipa_axum::routes!($handler)))+;
            $(
                let described = described.merge(
                    utoipa_axum::router::OpenApiRouter::new()
                        $(.routes(utoipa_axum::routes!($layered)))+
                        .layer($layer),
                );
            )?
            described
        }
    };
}

pub mod extract;
pub mod liveness;
pub mod sessions;
pub mod subsessions;
pub mod tenant;
pub mod uploads;

use crate::AppState;
use axum::Router;

/// Every route group in one router, as the dev server serves them.
pub fn all() -> Router<AppState> {
    sessions::router()
        .merge(uploads::router())
        .merge(extract::router())
        .merge(liveness::router())
        .merge(subsessions::router())
        .merge(tenant::router())
}
