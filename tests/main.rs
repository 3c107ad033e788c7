//! Integration tests, compiled as one binary (one link, shared helpers).

mod util;

mod cli;
mod console;
mod e2e;
mod hybrid;
mod kb;
mod model;
mod retrieval;
mod semantic;
mod store;
