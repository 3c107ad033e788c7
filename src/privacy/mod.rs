//! Privacy: finding personal data in customer text ([`detect`]) and masking it ([`mask`]) before
//! anything leaves the live store (exports, training data), and `deskpilot privacy scan`.

pub mod detect;
pub mod eval;
pub mod mask;

pub use detect::{Finding, Kind, find};
pub use mask::mask_pii;
