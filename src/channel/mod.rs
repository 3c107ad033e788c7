//! Customer channels: where conversations come from and where replies go.

pub mod demo;
pub mod http;
pub mod web;

pub use demo::{DemoChannel, Scenarios};
