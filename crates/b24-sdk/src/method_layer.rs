//! The bridge to the generated method layer (`b24-methods`): a [`Client`] gives its actions, so
//! `client.crm().deal().list()` (with `use b24_sdk::prelude::*`) sends through the client's
//! limiters, retries and errors like every other call.

use crate::Client;

impl b24_methods::Methods for Client {
    fn methods_actions(&self) -> b24_actions::Actions {
        self.actions().clone()
    }
}
