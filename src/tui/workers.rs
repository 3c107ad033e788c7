//! Work that must never run on the UI thread: retrieval, drafting and storage each get a thread
//! of their own; results come back as [`WorkerMsg`]s tagged with their request id.

use crate::desk::ports::{DraftRequest, DraftResult, Drafter, Flow, RetrievalQuery, Retriever, Store};
use crate::desk::{
    Conversation, ConversationId, Customer, Draft, Message, Millis, RequestId, Retrieval, Status, SuggestionEvent,
};
use crate::store::SqliteStore;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Instant;
use tokio::sync::mpsc::UnboundedSender;

#[derive(Debug)]
pub enum WorkerMsg {
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
    StoreError(String),
    /// The KB folder changed and was re-indexed.
    KbReloaded {
        articles: usize,
    },
}

/// Re-checks the KB folder; returns a fresh retriever (and its article count) when it changed.
pub type KbRefresh = Box<dyn FnMut() -> Option<(Box<dyn Retriever>, usize)> + Send>;

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
    Draft(Draft),
    Event(ConversationId, Option<RequestId>, SuggestionEvent, Millis),
    Autosave(ConversationId, String, Millis),
    ClearAutosave(ConversationId),
    /// Checkpoint and answer: the app is about to exit.
    Flush(mpsc::Sender<()>),
}

pub struct Workers {
    retrieve: mpsc::Sender<RetrieveJob>,
    draft: mpsc::Sender<DraftJob>,
    store: mpsc::Sender<StoreOp>,
    cancels: HashMap<RequestId, Arc<AtomicBool>>,
}

impl Workers {
    pub fn start(
        mut retriever: Box<dyn Retriever>,
        mut refresh: Option<KbRefresh>,
        mut drafter: Box<dyn Drafter>,
        mut store: SqliteStore,
        out: UnboundedSender<WorkerMsg>,
    ) -> Self {
        let (retrieve, rx) = mpsc::channel::<RetrieveJob>();
        let tx = out.clone();
        std::thread::Builder::new()
            .name("retrieval".into())
            .spawn(move || {
                // Load the Chinese segmenter's dictionary now, not on the first Chinese message.
                crate::retrieval::analyzers::analyze(&mut crate::retrieval::analyzers::chinese(), "预热");
                loop {
                    let mut job = match rx.recv_timeout(KB_POLL) {
                        Ok(job) => job,
                        Err(mpsc::RecvTimeoutError::Timeout) => {
                            // Idle: pick up edits to the KB folder (stamps first, so this is cheap).
                            if let Some((fresh, articles)) = refresh.as_mut().and_then(|r| r()) {
                                retriever = fresh;
                                if tx.send(WorkerMsg::KbReloaded { articles }).is_err() {
                                    break;
                                }
                            }
                            continue;
                        }
                        Err(mpsc::RecvTimeoutError::Disconnected) => break,
                    };
                    // Only the latest request per conversation matters.
                    while let Ok(newer) = rx.try_recv() {
                        job = newer;
                    }
                    let started = Instant::now();
                    let result = retriever.retrieve(&job.query).map_err(|e| e.to_string());
                    let ms = started.elapsed().as_secs_f64() * 1e3;
                    let msg = WorkerMsg::Retrieved { conversation: job.conversation, request: job.request, result, ms };
                    if tx.send(msg).is_err() {
                        break;
                    }
                }
            })
            .ok();

        let (draft, rx) = mpsc::channel::<DraftJob>();
        let tx = out.clone();
        std::thread::Builder::new()
            .name("drafter".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    if job.cancel.load(Ordering::Relaxed) {
                        continue;
                    }
                    let (conversation, request) = (job.request.conversation.clone(), job.request.request);
                    let mut sink = |piece: &str| {
                        if job.cancel.load(Ordering::Relaxed) {
                            return Flow::Stop;
                        }
                        let chunk =
                            WorkerMsg::Chunk { conversation: conversation.clone(), request, text: piece.to_owned() };
                        if tx.send(chunk).is_err() { Flow::Stop } else { Flow::Continue }
                    };
                    let result = drafter.draft(&job.request, &mut sink).map_err(|e| e.to_string());
                    // Numbers and identifiers the draft states that no passage or message holds.
                    let unsupported = match &result {
                        Ok(r) if !r.cancelled => crate::model::neural::unsupported(&job.request, &r.text),
                        _ => Vec::new(),
                    };
                    if tx.send(WorkerMsg::Drafted { conversation, request, result, unsupported }).is_err() {
                        break;
                    }
                }
            })
            .ok();

        let (store_tx, rx) = mpsc::channel::<StoreOp>();
        std::thread::Builder::new()
            .name("store".into())
            .spawn(move || {
                while let Ok(op) = rx.recv() {
                    let result = match op {
                        StoreOp::Customer(c) => store.save_customer(&c),
                        StoreOp::Conversation(c) => store.save_conversation(&c),
                        StoreOp::Message(id, m) => store.append_message(&id, &m),
                        StoreOp::Status(id, s, at) => store.set_status(&id, s, at).map_err(Into::into),
                        StoreOp::Draft(d) => store.save_draft(&d),
                        StoreOp::Event(id, r, e, at) => store.record_event(&id, r, e, at),
                        StoreOp::Autosave(id, text, at) => store.autosave(&id, &text, at),
                        StoreOp::ClearAutosave(id) => store.clear_autosave(&id),
                        StoreOp::Flush(done) => {
                            let r = store.checkpoint().map_err(Into::into);
                            let _ = done.send(());
                            r
                        }
                    };
                    if let Err(e) = result {
                        tracing::error!(error = %e, "store write failed");
                        let _ = out.send(WorkerMsg::StoreError(e.to_string()));
                    }
                }
            })
            .ok();

        Self { retrieve, draft, store: store_tx, cancels: HashMap::new() }
    }

    pub fn retrieve(&self, conversation: ConversationId, request: RequestId, query: RetrievalQuery) {
        let _ = self.retrieve.send(RetrieveJob { conversation, request, query });
    }

    pub fn generate(&mut self, request: DraftRequest) {
        let cancel = Arc::new(AtomicBool::new(false));
        self.cancels.insert(request.request, cancel.clone());
        let _ = self.draft.send(DraftJob { request, cancel });
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
        let _ = self.store.send(op);
    }

    /// Waits (briefly) until every queued write is on disk.
    pub fn flush(&self) {
        let (tx, rx) = mpsc::channel();
        if self.store.send(StoreOp::Flush(tx)).is_ok() {
            let _ = rx.recv_timeout(std::time::Duration::from_secs(5));
        }
    }
}
