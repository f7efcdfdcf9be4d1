//! Serving a router as a Lambda function behind API Gateway (HTTP API, payload v2).

use axum::Router;
use kyc_http::RequestId;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use tower::ServiceBuilder;

/// Runs the Lambda runtime loop, tagging each request with API Gateway's request id.
pub async fn serve_lambda(app: Router) -> Result<(), lambda_http::Error> {
    let service = ServiceBuilder::new().map_request(with_api_gateway_request_id).service(app);
    lambda_http::run(service).await
}

/// Copies API Gateway's request id into the request, so error envelopes and logs carry it.
pub fn with_api_gateway_request_id(mut request: Request) -> Request {
    let id = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.request_id.clone(),
        _ => None,
    };
    if let Some(id) = id {
        request.extensions_mut().insert(RequestId(id));
    }
    request
}
