//! Deskpilot: a terminal agent-assist console.
//!
//! The crate is a library with a thin binary (`src/main.rs`). The module tree follows the
//! architecture: a pure domain core (`desk`) and adapters around it.
#![deny(clippy::unwrap_used)]

pub mod channel;
pub mod cli;
pub mod config;
pub mod desk;
pub mod eval;
pub mod knowledge;
pub mod model;
pub mod privacy;
pub mod retrieval;
pub mod review;
pub mod rng;
pub mod select;
pub mod semantic;
pub mod store;
pub mod text;
pub mod tui;
pub mod understand;
pub mod util;
