//! Privacy helpers shared by exports and training data. For now only [`mask`], the minimal
//! masker that the privacy issue will extend (names, addresses, a configurable rule set).

pub mod mask;

pub use mask::mask_pii;
