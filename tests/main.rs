//! Integration tests, compiled as one binary (one link, shared helpers).

mod util;

mod browser;
mod cli;
mod console;
mod console_loop;
mod e2e;
mod fuzz;
mod hardening;
mod http;
mod hybrid;
mod kb;
mod model;
mod privacy;
mod retrieval;
mod review;
mod select;
mod semantic;
mod store;
mod understand;
