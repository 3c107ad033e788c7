//! The domain: tickets, conversations, messages, drafts, customers, passages, and the pure
//! `update(state, msg) -> effects` core.
//!
//! Nothing in here does I/O or imports a UI, async, search, model or database crate, so the rules
//! of the product are testable in milliseconds. Adapters implement the [`ports`].

pub mod approval;
pub mod autosave;
pub mod outcome;
pub mod ports;
pub mod state;
pub mod types;
pub mod update;

pub use outcome::classify_outcome;
pub use state::{ConversationView, DraftState, State};
pub use types::*;
pub use update::{Effect, Msg, update};
