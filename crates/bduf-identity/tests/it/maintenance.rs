//! The retention sweeps of `bduf maintenance` (`bduf_core::maintenance`) remove identity's
//! operational rows only once identity is done with them: the sweep's ages are at least
//! the lifetimes identity gives its rows.

use bduf_core::maintenance::{IDEMPOTENCY_KEY_AGE, SIGN_IN_FAILURE_AGE};
use bduf_identity::auth::THROTTLE_WINDOW;
use bduf_identity::idempotency::KEY_LIFETIME;

/// An idempotency key is swept only after it stopped replaying, and a sign-in failure
/// only after its throttle window closed: sweeping earlier would let a retry write twice
/// or a throttled client try again at once.
#[test]
fn sweeps_wait_for_identitys_lifetimes() {
    assert!(IDEMPOTENCY_KEY_AGE >= KEY_LIFETIME);
    assert!(SIGN_IN_FAILURE_AGE >= THROTTLE_WINDOW);
}
