//! Privacy: finding personal data in customer text ([`detect`]) and masking it ([`mask`]) before
//! anything leaves the live store (exports, training data, eval outputs, the log file) as the
//! `[privacy]` [`policy`] says; `deskpilot privacy scan`.

pub mod detect;
pub mod erase;
pub mod eval;
pub mod mask;
pub mod policy;

pub use detect::{Finding, Kind, find};
pub use mask::{MaskingWriter, mask_json, mask_pii};
pub use policy::{Policy, PrivacyConfig};
