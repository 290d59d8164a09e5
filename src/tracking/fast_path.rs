//! Tracking links answered in front of the router.
//!
//! Every layer of poem's route tree adds its state to the request's future, and the server
//! boxes that future per request: for the click path most of the cost was copying it. Here a
//! click runs a small future of its own, and everything else goes to the boxed app behind.

use poem::endpoint::BoxEndpoint;
use poem::http::Method;
use poem::{Endpoint, Request, Response};

use super::redirect;
use crate::state::AppState;

pub struct ClicksFirst {
    pub state: AppState,
    pub app: BoxEndpoint<'static, Response>,
}

impl Endpoint for ClicksFirst {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        if (req.method() == Method::GET || req.method() == Method::HEAD)
            && req.uri().path().starts_with("/c/")
        {
            return Ok(redirect::click(&self.state, &req).await);
        }
        self.app.call(req).await
    }
}
