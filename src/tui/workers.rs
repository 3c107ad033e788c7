//! Work that must never run on the UI thread: retrieval, drafting and storage each get a thread
//! of their own; results come back as [`WorkerMsg`]s tagged with their request id.
//!
//! Each worker keeps at most one waiting job per conversation (the newest), so customers who write
//! at the same moment are all served and none waits on another's stale work. Every job runs
//! [`supervised`]: a panic becomes a visible [`WorkerMsg::Fault`] and the worker carries on; a
//! drafter that panicked is reloaded (the extractive drafter after a second crash, or when the
//! model cannot be loaded) and the job is tried once more.

use super::supervise::{LatestPerConversation, supervised};
use crate::desk::ports::{DraftRequest, DraftResult, Drafter, Flow, PortError, RetrievalQuery, Retriever, Store};
use crate::desk::{
    Conversation, ConversationId, Customer, Draft, Message, Millis, RequestId, Retrieval, Status, SuggestionEvent,
};
use crate::store::SqliteStore;
use anyhow::Context;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Instant;
use tokio::sync::mpsc::UnboundedSender;

#[derive(Debug)]
pub enum WorkerMsg {
    /// Supervisors decided on queued replies, or left coaching notes for this agent.
    ReviewUpdates {
        decided: Vec<crate::store::Approval>,
        notes: Vec<crate::store::CoachingNote>,
    },
    Retrieved {
        conversation: ConversationId,
        request: RequestId,
        result: Result<Retrieval, String>,
        ms: f64,
    },
    Chunk {
        conversation: ConversationId,
        request: RequestId,
        text: String,
    },
    Drafted {
        conversation: ConversationId,
        request: RequestId,
        result: Result<DraftResult, String>,
        /// Facts in the draft found in no passage and no message: the agent is told to check them.
        unsupported: Vec<String>,
    },
    /// The drafter crashed mid-draft and starts this request again: drop what it streamed.
    Restarted {
        conversation: ConversationId,
        request: RequestId,
    },
    /// The drafter in use (after start-up, a reload or a fallback): its label.
    DrafterReady {
        label: String,
    },
    /// A worker crashed or failed and recovered (or could not): shown on the status line.
    Fault {
        worker: &'static str,
        message: String,
    },
    StoreError(String),
    /// The KB folder changed and was re-indexed.
    KbReloaded {
        articles: usize,
    },
    /// A customer's conversations, most recent first, for the profile panel.
    History {
        customer: crate::desk::CustomerId,
        conversations: Vec<crate::desk::PastConversation>,
    },
}

/// Re-checks the KB folder; returns a fresh retriever (and its article count) when it changed.
pub type KbRefresh = Box<dyn FnMut() -> Option<(Box<dyn Retriever>, usize)> + Send>;

/// Loads a drafter and its label. `true` asks for the fallback that needs no model (extractive).
pub type LoadDrafter = Box<dyn FnMut(bool) -> anyhow::Result<(Box<dyn Drafter>, String)> + Send>;

/// How often the KB folder is checked for edits.
const KB_POLL: std::time::Duration = std::time::Duration::from_secs(2);

struct RetrieveJob {
    conversation: ConversationId,
    request: RequestId,
    query: RetrievalQuery,
}

struct DraftJob {
    request: DraftRequest,
    cancel: Arc<AtomicBool>,
}

/// Writes for the store thread.
pub enum StoreOp {
    Customer(Customer),
    Conversation(Conversation),
    Message(ConversationId, Message),
    Status(ConversationId, Status, Millis),
    Priority(ConversationId, crate::desk::Priority),
    Draft(Draft),
    Event(ConversationId, Option<RequestId>, SuggestionEvent, Millis),
    Autosave(ConversationId, String, Millis),
    ClearAutosave(ConversationId),
    /// Checkpoint and answer: the app is about to exit.
    Flush(mpsc::Sender<()>),
    /// A feedback event with a detail (passage slugs, an unanswered question).
    EventDetail(ConversationId, Option<RequestId>, SuggestionEvent, String, Millis),
    /// A reply held for a supervisor's approval.
    SubmitApproval(ConversationId, Option<RequestId>, String, Millis),
    /// A draft's grounding warnings.
    Warnings(ConversationId, RequestId, Vec<String>),
    /// Fetch supervisors' decisions on this console's queued replies and unseen coaching notes.
    PollReview,
    /// Read a customer's conversations for the profile panel.
    History(crate::desk::CustomerId),
}

pub struct Workers {
    retrieve: mpsc::Sender<RetrieveJob>,
    draft: mpsc::Sender<DraftJob>,
    store: mpsc::Sender<StoreOp>,
    out: UnboundedSender<WorkerMsg>,
    cancels: HashMap<RequestId, Arc<AtomicBool>>,
}

impl Workers {
    /// Starts the three worker threads. The drafter is loaded on its own thread, so the console
    /// draws its first frame without waiting for the model.
    pub fn start(
        retriever: Box<dyn Retriever>,
        refresh: Option<KbRefresh>,
        load_drafter: LoadDrafter,
        store: SqliteStore,
        out: UnboundedSender<WorkerMsg>,
    ) -> anyhow::Result<Self> {
        let (retrieve, rx) = mpsc::channel::<RetrieveJob>();
        let tx = out.clone();
        std::thread::Builder::new()
            .name("retrieval".into())
            .spawn(move || retrieval_loop(rx, tx, retriever, refresh))
            .context("cannot start the retrieval thread")?;

        let (draft, rx) = mpsc::channel::<DraftJob>();
        let tx = out.clone();
        std::thread::Builder::new()
            .name("drafter".into())
            .spawn(move || draft_loop(rx, tx, load_drafter))
            .context("cannot start the drafting thread")?;

        let (store_tx, rx) = mpsc::channel::<StoreOp>();
        let tx = out.clone();
        std::thread::Builder::new()
            .name("store".into())
            .spawn(move || store_loop(rx, tx, store))
            .context("cannot start the storage thread")?;

        Ok(Self { retrieve, draft, store: store_tx, out, cancels: HashMap::new() })
    }

    /// A worker whose thread is gone cannot be restarted from here: say so on the status line.
    fn gone(&self, worker: &'static str) {
        tracing::error!(worker, "worker thread stopped");
        let message = "stopped unexpectedly; restart the console (typed text is autosaved)".to_owned();
        let _ = self.out.send(WorkerMsg::Fault { worker, message });
    }

    pub fn retrieve(&self, conversation: ConversationId, request: RequestId, query: RetrievalQuery) {
        if self.retrieve.send(RetrieveJob { conversation, request, query }).is_err() {
            self.gone("retrieval");
        }
    }

    pub fn generate(&mut self, request: DraftRequest) {
        let cancel = Arc::new(AtomicBool::new(false));
        self.cancels.insert(request.request, cancel.clone());
        if self.draft.send(DraftJob { request, cancel }).is_err() {
            self.gone("drafter");
        }
    }

    pub fn cancel(&mut self, request: RequestId) {
        if let Some(flag) = self.cancels.remove(&request) {
            flag.store(true, Ordering::Relaxed);
        }
    }

    pub fn finished(&mut self, request: RequestId) {
        self.cancels.remove(&request);
    }

    pub fn store(&self, op: StoreOp) {
        if self.store.send(op).is_err() {
            self.gone("store");
        }
    }

    /// Waits (briefly) until every queued write is on disk.
    pub fn flush(&self) {
        let (tx, rx) = mpsc::channel();
        if self.store.send(StoreOp::Flush(tx)).is_ok() {
            let _ = rx.recv_timeout(std::time::Duration::from_secs(5));
        }
    }
}

/// Takes every job already sent into `pending`; blocks for the first one when nothing waits.
/// Returns false when the sending side is gone and nothing is left to do.
fn gather<J>(
    rx: &mpsc::Receiver<J>,
    pending: &mut LatestPerConversation<J>,
    key: impl Fn(&J) -> ConversationId,
    timeout: Option<std::time::Duration>,
) -> Result<(), mpsc::RecvTimeoutError> {
    if pending.is_empty() {
        let job = match timeout {
            Some(t) => rx.recv_timeout(t)?,
            None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected)?,
        };
        pending.push(key(&job), job);
    }
    while let Ok(job) = rx.try_recv() {
        pending.push(key(&job), job);
    }
    Ok(())
}

fn retrieval_loop(
    rx: mpsc::Receiver<RetrieveJob>,
    tx: UnboundedSender<WorkerMsg>,
    mut retriever: Box<dyn Retriever>,
    mut refresh: Option<KbRefresh>,
) {
    // Load the Chinese segmenter's dictionary now, not on the first Chinese message.
    let _ = supervised("retrieval", || {
        crate::retrieval::analyzers::analyze(&mut crate::retrieval::analyzers::chinese(), "预热")
    });
    let mut pending = LatestPerConversation::default();
    loop {
        match gather(&rx, &mut pending, |j: &RetrieveJob| j.conversation.clone(), Some(KB_POLL)) {
            Ok(()) => {}
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Idle: pick up edits to the KB folder (stamps first, so this is cheap).
                match supervised("re-indexing the knowledge base", || refresh.as_mut().and_then(|r| r())) {
                    Ok(Some((fresh, articles))) => {
                        retriever = fresh;
                        if tx.send(WorkerMsg::KbReloaded { articles }).is_err() {
                            break;
                        }
                    }
                    Ok(None) => {}
                    Err(message) => {
                        let _ = tx.send(WorkerMsg::Fault { worker: "retrieval", message });
                    }
                }
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        let Some((conversation, job)) = pending.pop() else { continue };
        let started = Instant::now();
        let result = match supervised("retrieval", || retriever.retrieve(&job.query)) {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(crash) => {
                let _ = tx.send(WorkerMsg::Fault { worker: "retrieval", message: crash.clone() });
                Err(crash)
            }
        };
        let ms = started.elapsed().as_secs_f64() * 1e3;
        if tx.send(WorkerMsg::Retrieved { conversation, request: job.request, result, ms }).is_err() {
            break;
        }
    }
}

/// Stands in when no drafter at all could be loaded: every draft fails with the reason.
struct Unavailable(String);

impl Drafter for Unavailable {
    fn draft(&mut self, _: &DraftRequest, _: &mut dyn FnMut(&str) -> Flow) -> Result<DraftResult, PortError> {
        Err(self.0.clone().into())
    }
}

/// Loads a drafter through `load`, falling back to the extractive one when the model fails to
/// load or crashes while loading; says which one is in use.
fn load_drafter(load: &mut LoadDrafter, fallback: bool, tx: &UnboundedSender<WorkerMsg>) -> Box<dyn Drafter> {
    let loaded = supervised("loading the drafter", || load(fallback)).and_then(|r| r.map_err(|e| format!("{e:#}")));
    match loaded {
        Ok((drafter, label)) => {
            let _ = tx.send(WorkerMsg::DrafterReady { label });
            drafter
        }
        Err(e) if !fallback => {
            tracing::warn!("generator unavailable, using the extractive drafter: {e}");
            let message = format!("generator unavailable ({e}); using the extractive drafter");
            let _ = tx.send(WorkerMsg::Fault { worker: "drafter", message });
            load_drafter(load, true, tx)
        }
        Err(e) => {
            let _ = tx.send(WorkerMsg::Fault { worker: "drafter", message: format!("no drafter available: {e}") });
            Box::new(Unavailable(format!("no drafter available: {e}")))
        }
    }
}

/// Runs one draft job on `drafter`, streaming its pieces; a panic comes back as `Err`.
fn run_draft(
    drafter: &mut dyn Drafter,
    job: &DraftJob,
    tx: &UnboundedSender<WorkerMsg>,
) -> Result<Result<DraftResult, PortError>, String> {
    let (conversation, request) = (&job.request.conversation, job.request.request);
    let mut sink = |piece: &str| {
        if job.cancel.load(Ordering::Relaxed) {
            return Flow::Stop;
        }
        let chunk = WorkerMsg::Chunk { conversation: conversation.clone(), request, text: piece.to_owned() };
        if tx.send(chunk).is_err() { Flow::Stop } else { Flow::Continue }
    };
    supervised("the drafter", || drafter.draft(&job.request, &mut sink))
}

fn draft_loop(rx: mpsc::Receiver<DraftJob>, tx: UnboundedSender<WorkerMsg>, mut load: LoadDrafter) {
    let mut drafter = load_drafter(&mut load, false, &tx);
    let mut crashes = 0;
    let mut pending = LatestPerConversation::default();
    while gather(&rx, &mut pending, |j: &DraftJob| j.request.conversation.clone(), None).is_ok() {
        let Some((conversation, job)) = pending.pop() else { continue };
        if job.cancel.load(Ordering::Relaxed) {
            continue;
        }
        let request = job.request.request;
        let mut result = run_draft(drafter.as_mut(), &job, &tx);
        let mut on_fallback = false;
        while let Err(crash) = &result {
            if on_fallback {
                break;
            }
            // Reload and try the job again from an empty draft; a second crash (this job's or a
            // later one's) switches to the extractive drafter for good.
            crashes += 1;
            on_fallback = crashes >= 2;
            let next = if on_fallback { "switched to the extractive drafter" } else { "reloaded it" };
            tracing::error!(%crash, "drafter crashed; {next}");
            let _ = tx.send(WorkerMsg::Fault { worker: "drafter", message: format!("{crash}; {next}") });
            drafter = load_drafter(&mut load, on_fallback, &tx);
            let _ = tx.send(WorkerMsg::Restarted { conversation: conversation.clone(), request });
            result = run_draft(drafter.as_mut(), &job, &tx);
        }
        let result = match result {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(crash) => Err(crash),
        };
        // Numbers and identifiers the draft states that no passage or message holds.
        let unsupported = match &result {
            Ok(r) if !r.cancelled => crate::model::neural::unsupported(&job.request, &r.text),
            _ => Vec::new(),
        };
        if tx.send(WorkerMsg::Drafted { conversation, request, result, unsupported }).is_err() {
            break;
        }
    }
}

/// Sends decided approvals and unseen coaching notes to the app (each once).
fn poll_review(store: &mut SqliteStore, tx: &UnboundedSender<WorkerMsg>) -> Result<(), crate::desk::ports::PortError> {
    let now = crate::util::now_ms();
    let agent = store.agent().to_owned();
    let decided = store.take_decided_approvals(&agent, now)?;
    let notes = store.coaching_notes(&agent, true)?;
    for n in &notes {
        store.mark_note_seen(n.id, now)?;
    }
    if !decided.is_empty() || !notes.is_empty() {
        let _ = tx.send(WorkerMsg::ReviewUpdates { decided, notes });
    }
    Ok(())
}

/// How many of a customer's conversations the profile panel lists.
const HISTORY: usize = 20;

/// Sends a customer's conversations, summarised, to the app.
fn history(
    store: &SqliteStore,
    customer: &crate::desk::CustomerId,
    tx: &UnboundedSender<WorkerMsg>,
) -> Result<(), crate::desk::ports::PortError> {
    use crate::understand::{DetailKind, conversation_details, summary::summarize};
    let mut conversations = Vec::new();
    for c in store.conversations_of(&customer.0, HISTORY)? {
        let messages = store.messages(&c.id)?;
        let mut found = Vec::new();
        let said = messages.iter().filter(|m| m.author == crate::desk::Author::Customer && !m.internal);
        conversation_details(said.map(|m| (m.text.as_str(), m.at)), &mut found);
        conversations.push(crate::desk::PastConversation {
            summary: summarize(&messages, c.status).one_line(),
            orders: found.into_iter().filter(|d| d.kind == DetailKind::Order).map(|d| d.value).collect(),
            id: c.id,
            status: c.status,
            channel: c.channel,
            updated_at: c.updated,
        });
    }
    let _ = tx.send(WorkerMsg::History { customer: customer.clone(), conversations });
    Ok(())
}

fn store_loop(rx: mpsc::Receiver<StoreOp>, tx: UnboundedSender<WorkerMsg>, mut store: SqliteStore) {
    while let Ok(op) = rx.recv() {
        let outcome = supervised("saving", || match op {
            StoreOp::Customer(c) => store.save_customer(&c),
            StoreOp::Conversation(c) => store.save_conversation(&c),
            StoreOp::Message(id, m) => store.append_message(&id, &m),
            StoreOp::Status(id, s, at) => store.set_status(&id, s, at).map_err(Into::into),
            StoreOp::Priority(id, p) => store.set_priority(&id, p).map_err(Into::into),
            StoreOp::Draft(d) => store.save_draft(&d),
            StoreOp::Event(id, r, e, at) => store.record_event(&id, r, e, at),
            StoreOp::Autosave(id, text, at) => store.autosave(&id, &text, at),
            StoreOp::ClearAutosave(id) => store.clear_autosave(&id),
            StoreOp::EventDetail(id, r, e, detail, at) => {
                store.add_event_detail(&id, r, e, &detail, at).map_err(Into::into)
            }
            StoreOp::SubmitApproval(id, r, text, at) => {
                store.submit_approval(&id, r, &text, at).map(drop).map_err(Into::into)
            }
            StoreOp::Warnings(id, r, w) => store.set_draft_warnings(&id, r, &w).map_err(Into::into),
            StoreOp::PollReview => poll_review(&mut store, &tx),
            StoreOp::History(customer) => history(&store, &customer, &tx),
            StoreOp::Flush(done) => {
                let r = store.checkpoint().map_err(Into::into);
                let _ = done.send(());
                r
            }
        });
        let error = match outcome {
            Ok(Ok(())) => continue,
            Ok(Err(e)) => e.to_string(),
            Err(crash) => crash,
        };
        tracing::error!(error = %error, "store write failed");
        let _ = tx.send(WorkerMsg::StoreError(error));
    }
}
