//! Evaluation: cases in the `shared/eval` format, metrics, and the replay harness.

mod cases;
pub mod metrics;
mod replay;

pub use cases::{Case, Turn, load_cases};
pub use replay::{CaseResult, RetrievalMetrics, RetrievalReport, replay_retrieval};
