//! Evaluation: cases in the `shared/eval` format, metrics, and the replay harness.

pub mod generation;
pub mod metrics;
mod replay;
pub mod text_metrics;

pub use crate::knowledge::cases::{Case, Turn, load_cases, parse_conversation};
pub use generation::{CaseDraft, GenerationMetrics, replay_generation};
pub use replay::{CaseResult, RetrievalMetrics, RetrievalReport, query_for, replay_retrieval};
