//! For greenlight's own tests, unit and integration alike: an SDK
//! interceptor that panics at one AWS operation, as a bug in greenlight's
//! code next to that call would. Not part of greenlight's contract (hidden
//! from the docs, used by no command); it lives in the library so that
//! `src/release/engine/tests.rs` and `tests/it/panics.rs` share one copy.
//! Makes no AWS call.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Panics on every call of the AWS operation it names (e.g. `Invoke`,
/// `ChangeResourceRecordSets`), whatever the service: add it to a client's
/// configuration with `.interceptor(PanicOn("Invoke"))`.
#[derive(Debug)]
pub struct PanicOn(pub &'static str);

impl Intercept for PanicOn {
    fn name(&self) -> &'static str {
        "PanicOn"
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // The operation's name is in the bag from this hook on. (A mock
        // client's own interceptor runs first: it needs a rule for the
        // operation, or it fails the call before this one panics.)
        if cfg.load::<Metadata>().is_some_and(|m| m.name() == self.0) {
            panic!("overflow adding duration to date");
        }
        Ok(())
    }
}
