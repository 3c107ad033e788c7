//! Drafting models behind the [`crate::desk::ports::Drafter`] port.
//!
//! This version ships the extractive drafter: it composes a reply from the retrieved passages'
//! most relevant sentences. The neural generator (burn) will implement the same port.

pub mod extractive;

pub use extractive::ExtractiveDrafter;
