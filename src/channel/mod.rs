//! Customer channels: where conversations come from and where replies go.

pub mod demo;

pub use demo::{DemoChannel, Scenarios};
