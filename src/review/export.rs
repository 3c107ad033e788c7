//! `review --export`: the review rows as CSV or JSON, PII masked unless asked otherwise.

use crate::privacy::mask_pii;
use crate::store::ReviewRow;
use serde::Serialize;

/// One exported draft.
#[derive(Debug, Clone, Serialize)]
pub struct ExportRow {
    pub id: i64,
    pub conversation: String,
    pub agent: String,
    pub created: String,
    pub outcome: String,
    pub edit_distance: Option<f64>,
    pub time_to_send_ms: Option<i64>,
    pub sources: Vec<String>,
    pub flags: Vec<String>,
    pub approved: bool,
    pub warnings: Vec<String>,
    pub draft: String,
    pub sent: Option<String>,
}

impl ExportRow {
    pub fn new(r: &ReviewRow, masked: bool) -> Self {
        let m = |s: &str| if masked { mask_pii(s).into_owned() } else { s.to_owned() };
        ExportRow {
            id: r.id,
            conversation: r.conversation.0.clone(),
            agent: r.agent.clone(),
            created: super::iso_time(r.created),
            outcome: r.outcome.map_or("pending", |o| o.as_str()).to_owned(),
            edit_distance: r.edit_distance,
            time_to_send_ms: r.time_to_send(),
            sources: r.sources.iter().map(|s| s.slug.clone()).collect(),
            flags: r.flags.iter().map(|f| m(f)).collect(),
            approved: r.approved,
            warnings: r.warnings.iter().map(|w| m(w)).collect(),
            draft: m(&r.generated),
            sent: r.final_text.as_deref().map(m),
        }
    }
}

const HEADER: &str =
    "id,conversation,agent,created,outcome,edit_distance,time_to_send_ms,sources,flags,approved,warnings,draft,sent";

/// RFC 4180 quoting: fields with commas, quotes or line breaks are quoted, quotes doubled.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

/// The rows as CSV with a header line; lists are joined with `;`.
pub fn csv(rows: &[ExportRow]) -> String {
    let mut out = String::from(HEADER);
    out.push('\n');
    for r in rows {
        let cols = [
            r.id.to_string(),
            field(&r.conversation),
            field(&r.agent),
            r.created.clone(),
            r.outcome.clone(),
            r.edit_distance.map_or(String::new(), |d| format!("{d:.4}")),
            r.time_to_send_ms.map_or(String::new(), |t| t.to_string()),
            field(&r.sources.join(";")),
            field(&r.flags.join(";")),
            r.approved.to_string(),
            field(&r.warnings.join(";")),
            field(&r.draft),
            field(r.sent.as_deref().unwrap_or("")),
        ];
        out.push_str(&cols.join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_masks() {
        let row = ReviewRow {
            id: 1,
            conversation: "T-1".into(),
            request: crate::desk::RequestId(1),
            agent: "ana".into(),
            created: 0,
            generated: "Hi, \"sure\", write to a@b.co".into(),
            final_text: None,
            outcome: None,
            edit_distance: None,
            shown_ms: None,
            sent_ms: None,
            sources: vec![],
            warnings: vec![],
            flags: vec![],
            approved: false,
        };
        let text = csv(&[ExportRow::new(&row, true)]);
        assert!(
            text.ends_with(
                "1,T-1,ana,1970-01-01T00:00:00Z,pending,,,,,false,,\"Hi, \"\"sure\"\", write to [email]\",\n"
            ),
            "{text}"
        );
        assert!(csv(&[ExportRow::new(&row, false)]).contains("a@b.co"));
    }
}
