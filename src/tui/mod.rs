//! The console: a ratatui app on a tokio event loop. Terminal events, worker results and channel
//! events become messages for [`app::App`]; its effects are carried out here; drawing happens on
//! a frame tick, only when something changed.

pub mod app;
pub mod details;
pub mod editing;
pub mod instance;
pub mod keymap;
pub mod layout;
pub mod render;
pub mod review;
pub mod supervise;
pub mod text;
pub mod theme;
pub mod workers;

use crate::channel::{DemoChannel, Scenarios};
use crate::config::Settings;
use crate::desk::ports::{Channel, ChannelEvent, DraftRequest, RetrievalQuery};
use crate::desk::{Draft, Effect, Msg, Status};
use crate::retrieval::Retriever;
use crate::store::SqliteStore;
use anyhow::{Context, Result};
use app::{App, Info};
use crossterm::event::{EnableBracketedPaste, EnableMouseCapture, Event, EventStream};
use futures_util::StreamExt;
use ratatui::Terminal;
use ratatui::backend::Backend;
use std::path::PathBuf;
use std::time::Duration;
use workers::{StoreOp, WorkerMsg, Workers};

/// How the console was asked to run.
#[derive(Debug, Clone)]
pub struct ConsoleOptions {
    pub kb_dir: PathBuf,
    /// Demo time scale (2.0 = twice as fast).
    pub speed: f64,
    pub seed: u64,
    pub scenarios: Option<PathBuf>,
    /// Start a new demo session instead of resuming the last one.
    pub fresh: bool,
    /// The generator's folder (default: configured or bundled).
    pub model_dir: Option<PathBuf>,
    /// Run the simulated demo customers.
    pub demo: bool,
    /// Serve the web chat channel (its server runs on threads of its own).
    pub http: Option<crate::channel::http::HttpOptions>,
}

/// Milliseconds since the Unix epoch.
fn now() -> i64 {
    crate::util::now_ms()
}

/// Picks the demo session: resume the latest one unless it is finished or `fresh` is asked.
fn demo_session(store: &SqliteStore, fresh: bool) -> Result<(u32, Vec<crate::desk::Conversation>)> {
    let all: Vec<_> = store.conversations()?.into_iter().filter(|c| c.channel == "demo").collect();
    let session_of =
        |id: &str| id.strip_prefix('S').and_then(|r| r.split_once('-')).and_then(|(n, _)| n.parse::<u32>().ok());
    let latest = all.iter().filter_map(|c| session_of(&c.id.0)).max().unwrap_or(0);
    let current: Vec<_> = all.into_iter().filter(|c| session_of(&c.id.0) == Some(latest)).collect();
    let unfinished = current.iter().any(|c| matches!(c.status, Status::Open | Status::Pending | Status::Escalated));
    if latest > 0 && unfinished && !fresh { Ok((latest, current)) } else { Ok((latest + 1, Vec::new())) }
}

/// Everything a console needs, opened and checked before the terminal is taken over.
pub struct Prepared {
    pub app: App,
    pub shell: Shell,
    pub worker_rx: tokio::sync::mpsc::UnboundedReceiver<WorkerMsg>,
    /// Held for the console's lifetime: one console per data directory.
    pub lock: instance::InstanceLock,
}

/// Opens the store, the KB and the demo channel, restores an unfinished session (its autosaved
/// text, and retrieval and drafts for customers still waiting), and starts the workers.
pub fn prepare(settings: &Settings, opts: &ConsoleOptions) -> Result<Prepared> {
    let data = &settings.paths.data_dir;
    let lock = instance::acquire(data)?;
    let mut store = SqliteStore::open_in(data)?;
    store.set_agent(&settings.config.agent.name);
    // Retention (`[privacy] retention_days`): old resolved conversations go before any is shown.
    match crate::privacy::erase::retain(&mut store, &settings.config.privacy, crate::util::now_ms(), false) {
        Ok(r) if !r.conversations.is_empty() => {
            tracing::info!(action = %r.action, conversations = r.conversations.len(), "retention applied");
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("retention not applied: {e:#}"),
    }
    let scenarios = match &opts.scenarios {
        Some(p) => Scenarios::load(p)?,
        None => Scenarios::bundled()?,
    };
    let keymap = keymap::Keymap::with_overrides(
        Some(&settings.config.keys).filter(|k| !k.is_empty()),
        &settings.paths.config_file.display().to_string(),
    )?;
    eprintln!("Opening the knowledge base {}…", opts.kb_dir.display());
    let (mut retriever, report) = Retriever::open(&opts.kb_dir, data, &|_, _| {})?;
    // The encoder and the passage vectors load off the UI thread: lexical results until then,
    // and for good if the encoder is missing or broken (logged).
    let dense_choice = crate::retrieval::DenseChoice::from_config(&settings.config, None)?;
    retriever.load_dense_in_background(&opts.kb_dir, data, &dense_choice, &report);
    // The KB's product list, for the key details (read off the UI thread: a KB can be large).
    let products_kb = opts.kb_dir.clone();
    let _ = std::thread::Builder::new()
        .name("products".into())
        .spawn(move || crate::understand::load_products(&products_kb));
    for issue in report.issues.iter().take(5) {
        tracing::warn!("{issue}");
    }
    let (session, mut restored) = demo_session(&store, opts.fresh)?;
    // The queue shows conversations in arrival order.
    restored.sort_by_key(|c| (c.created, c.id.0.clone()));
    let mut restored_views = Vec::new();
    for c in &restored {
        let messages = store.messages(&c.id)?;
        let customer = store.customer(&c.customer.0)?;
        restored_views.push((c.clone(), customer, messages));
    }
    let autosaves = store.autosaves()?;
    let last_request = store.last_request_id()?;

    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme = theme::Theme::from_config(&settings.config.ui.theme, no_color);
    let choice = crate::model::DrafterChoice::from_config(&settings.config, opts.model_dir.as_deref(), None);
    // The generator loads on the drafting thread; until it is ready the status bar says so.
    let load_drafter: workers::LoadDrafter = Box::new(move |fallback| {
        if fallback {
            crate::model::DrafterChoice { kind: "extractive".into(), ..choice.clone() }.load()
        } else {
            choice.load()
        }
    });
    let info = Info { drafter: "loading…".into(), kb_articles: report.articles, last_retrieval_ms: None };
    let kb_dir = opts.kb_dir.clone();
    let articles: app::ArticleSource = Box::new(move |slug| {
        crate::knowledge::read_article(&kb_dir, slug).map(|a| (a.meta.title, a.body.trim().to_owned()))
    });
    let mut app = App::new(theme, keymap, info, articles);
    // The sentiment head reads the bundled encoder's vectors only.
    app.sentiment_head =
        crate::understand::head::Head::bundled().filter(|h| h.dim > 0 && settings.config.retrieval.encoder.is_empty());
    app.state.top_k = settings.config.retrieval.top_k;
    app.state.continue_requests_after(last_request);
    app.state.requires_approval = settings.config.agent.requires_approval;
    if settings.config.agent.role == crate::config::Role::Supervisor {
        app.review = Some(Box::new(review::open(settings)?));
    }
    app.state.min_confidence = settings.config.retrieval.min_confidence;

    let started = now();
    let mut channel = DemoChannel::new(scenarios, started, opts.speed, opts.seed).with_prefix(format!("S{session}-"));
    let mut waiting = Vec::new();
    let restored_views = if opts.demo { restored_views } else { Vec::new() };
    for (c, customer, messages) in restored_views {
        let customers = messages.iter().filter(|m| m.author == crate::desk::Author::Customer).count();
        let awaiting = messages.last().is_some_and(|m| m.author == crate::desk::Author::Customer);
        channel.resume(&c.id, customers, awaiting);
        let last = messages.last().map_or(c.created, |m| m.at);
        waiting.push((last, c.id.clone()));
        app.apply(Msg::ConversationOpened { conversation: c, customer, messages });
    }
    let mut channels: Vec<Box<dyn Channel>> = Vec::new();
    let mut server = None;
    if let Some(http) = &opts.http {
        // Web conversations still open, and everything after them from the store's tail.
        let (open, cursor) = store.web_snapshot()?;
        let mut known = std::collections::HashSet::new();
        for (c, customer, messages) in open {
            let last = messages.last().map_or(c.created, |m| m.at);
            if messages.last().is_some_and(|m| m.author == crate::desk::Author::Customer) {
                waiting.push((last, c.id.clone()));
            }
            known.insert(c.id.clone());
            app.apply(Msg::ConversationOpened { conversation: c, customer, messages });
        }
        channels.push(Box::new(crate::channel::web::WebChannel::start(store.another()?, cursor, known)?));
        let running = crate::channel::http::Background::start(http.clone())?;
        app.say(format!(
            "Web chat on http://{}/ (agent API key in {})",
            running.addr,
            http.data_dir.join(crate::channel::http::API_KEY_FILE).display()
        ));
        server = Some(running);
    }
    if opts.demo {
        channels.push(Box::new(channel));
    }
    for (id, text, at) in autosaves {
        if app.state.get(&id).is_some() {
            app.apply(Msg::EditorChanged { conversation: id, text, at });
        }
    }

    let (tx, worker_rx) = tokio::sync::mpsc::unbounded_channel();
    let (kb, data_dir) = (opts.kb_dir.clone(), data.clone());
    let refresh: workers::KbRefresh = Box::new(move || {
        if !crate::retrieval::kb_changed(&kb, &data_dir) {
            return None;
        }
        let (mut r, report) = Retriever::open(&kb, &data_dir, &|_, _| {}).ok()?;
        r.load_dense_in_background(&kb, &data_dir, &dense_choice, &report);
        let changed = report.added + report.updated + report.removed > 0 || report.rebuilt.is_some();
        if changed {
            tracing::info!(
                added = report.added,
                updated = report.updated,
                removed = report.removed,
                "KB changed; re-indexed"
            );
            crate::understand::load_products(&kb);
        }
        changed.then(|| (Box::new(r) as Box<dyn crate::desk::ports::Retriever>, report.articles))
    });
    let workers = Workers::start(Box::new(retriever), Some(refresh), load_drafter, store, tx)?;
    let channel = Box::new(crate::channel::web::Channels(channels));
    let mut shell = Shell { workers, channel, started, server };
    // Customers still waiting after a restart get their knowledge (and a draft) again, the
    // most recent conversation first.
    waiting.sort_by(|a, b| b.cmp(a));
    for (_, conversation) in waiting {
        let fx = app.apply(Msg::Resume { conversation });
        shell.perform(&mut app, fx);
    }
    Ok(Prepared { app, shell, worker_rx, lock })
}

/// Runs the console until the agent quits. The terminal is restored on every exit path (a panic,
/// an error, SIGTERM or SIGHUP), and queued writes are flushed first.
pub fn run(settings: &Settings, opts: ConsoleOptions) -> Result<()> {
    let Prepared { mut app, mut shell, worker_rx, lock } = prepare(settings, &opts)?;
    let mut terminal = ratatui::try_init().context("cannot start the terminal UI (is stdout a terminal?)")?;
    supervise::install_panic_hook();
    let _ = crossterm::execute!(std::io::stdout(), EnableMouseCapture, EnableBracketedPaste);
    let result = (|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        rt.block_on(async {
            use tokio::signal::unix::{SignalKind, signal};
            let mut term = signal(SignalKind::terminate())?;
            let mut hup = signal(SignalKind::hangup())?;
            let events = EventStream::new();
            let mut observe = |_: &App, _: &ratatui::DefaultTerminal| {};
            tokio::select! {
                r = event_loop(&mut terminal, &mut app, &mut shell, worker_rx, events, &mut observe) => r,
                _ = term.recv() => { tracing::info!("SIGTERM: saving and quitting"); Ok(()) }
                _ = hup.recv() => { tracing::info!("SIGHUP: saving and quitting"); Ok(()) }
            }
        })
    })();
    // Pending autosaves and queued writes reach the disk before we leave.
    for (conversation, text) in app.state.autosave.flush() {
        shell.workers.store(StoreOp::Autosave(conversation, text, now()));
    }
    shell.workers.flush();
    tracing::info!(frames = app.frames, "console closed");
    supervise::restore_terminal();
    ratatui::restore();
    drop(lock);
    result
}

/// Carries out effects: the boundary between the pure app and the outside world.
pub struct Shell {
    pub workers: Workers,
    pub channel: Box<dyn Channel>,
    pub started: i64,
    /// The web chat server, when the console serves it (stops when the console closes).
    pub server: Option<crate::channel::http::Background>,
}

impl Shell {
    pub fn perform(&mut self, app: &mut App, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Retrieve { conversation, request, turns, tags, k } => {
                    let query = RetrievalQuery { turns, tags, k, language: None };
                    self.workers.retrieve(conversation, request, query);
                }
                Effect::Generate { conversation, request, retrieval } => {
                    let Some(view) = app.state.get(&conversation) else { continue };
                    let mut details = Vec::new();
                    let said = view.messages.iter().filter(|m| m.author == crate::desk::Author::Customer);
                    crate::understand::conversation_details(said.map(|m| (m.text.as_str(), m.at)), &mut details);
                    let req = DraftRequest {
                        request,
                        conversation: conversation.clone(),
                        customer: view.customer.clone(),
                        messages: view.messages.clone(),
                        retrieval,
                        details,
                    };
                    self.workers.generate(req);
                }
                Effect::CancelGeneration { request } => self.workers.cancel(request),
                Effect::Deliver { conversation, message } => {
                    if let Err(e) = self.channel.deliver(&conversation, &message) {
                        app.say(format!("Could not deliver: {e}"));
                    }
                }
                Effect::PersistMessage { conversation, message } => {
                    // The web channel's server stored its customers' messages before acknowledging.
                    let stored = message.author == crate::desk::Author::Customer
                        && self.channel.stores_customer_side(&conversation);
                    if !stored {
                        self.workers.store(StoreOp::Message(conversation, message))
                    }
                }
                Effect::PersistStatus { conversation, status, at } => {
                    self.workers.store(StoreOp::Status(conversation, status, at))
                }
                Effect::PersistPriority { conversation, priority } => {
                    self.workers.store(StoreOp::Priority(conversation, priority))
                }
                Effect::LoadHistory { customer } => self.workers.store(StoreOp::History(customer)),
                Effect::SaveDraft { draft } => self.workers.store(StoreOp::Draft(draft)),
                Effect::RecordEvent { conversation, request, event } => {
                    self.workers.store(StoreOp::Event(conversation, request, event, now()));
                }
                Effect::Autosave { conversation, text } => {
                    self.workers.store(StoreOp::Autosave(conversation, text, now()))
                }
                Effect::ClearAutosave { conversation } => self.workers.store(StoreOp::ClearAutosave(conversation)),
                Effect::RecordDetail { conversation, request, event, detail } => {
                    self.workers.store(StoreOp::EventDetail(conversation, request, event, detail, now()));
                }
                Effect::SubmitForApproval { conversation, request, message } => {
                    self.workers.store(StoreOp::SubmitApproval(conversation, request, message.text, message.at));
                }
            }
        }
    }

    pub fn on_channel(&mut self, app: &mut App, ev: ChannelEvent) {
        if let ChannelEvent::NewConversation { conversation, customer, .. } = &ev
            && !self.channel.stores_customer_side(&conversation.id)
        {
            self.workers.store(StoreOp::Customer((**customer).clone()));
            self.workers.store(StoreOp::Conversation((**conversation).clone()));
        }
        let fx = app.on_channel(ev);
        self.perform(app, fx);
    }

    pub fn on_worker(&mut self, app: &mut App, msg: WorkerMsg) {
        let mut warnings = None;
        let fx = match msg {
            WorkerMsg::ReviewUpdates { decided, notes } => review_updates(app, decided, notes),
            WorkerMsg::Retrieved { conversation, request, result, ms } => match result {
                Ok(retrieval) => {
                    app.info.last_retrieval_ms = Some(ms);
                    // The encoder embedded the latest customer turn for retrieval: its
                    // sentiment comes from the same vector, off this thread's budget.
                    // (The head reads the English encoder's vectors, not a Chinese turn's.)
                    let heard = retrieval
                        .vectors
                        .as_ref()
                        .filter(|v| v.multilingual.is_none())
                        .and_then(|v| app.sentiment_head?.classify(&v.latest));
                    let id = conversation.clone();
                    let mut fx = app.apply(Msg::RetrievalDone { conversation, request, retrieval });
                    if let Some((sentiment, _)) = heard {
                        app.heard.insert(id.clone(), sentiment);
                        fx.extend(details::read_mood(app, &id));
                    }
                    fx
                }
                Err(error) => app.apply(Msg::RetrievalFailed { conversation, request, error }),
            },
            WorkerMsg::Chunk { conversation, request, text } => {
                app.apply(Msg::DraftChunk { conversation, request, text })
            }
            WorkerMsg::Drafted { conversation, request, result, unsupported } => {
                self.workers.finished(request);
                match result {
                    Ok(r) if r.cancelled => Vec::new(),
                    Ok(r) => {
                        if !unsupported.is_empty()
                            && app.state.selected_view().is_some_and(|c| c.conversation.id == conversation)
                        {
                            app.say(format!("Check before sending: {} found in no passage", unsupported.join(", ")));
                        }
                        if !unsupported.is_empty() {
                            // Queued behind the draft's own save (the store applies ops in order).
                            warnings = Some((conversation.clone(), request, unsupported));
                        }
                        let draft = Draft {
                            conversation: conversation.clone(),
                            request,
                            generated: r.text,
                            sources: r.sources,
                            model_version: r.model_version,
                            timings: r.timings,
                            final_text: None,
                            outcome: None,
                        };
                        app.apply(Msg::DraftFinished { conversation, draft })
                    }
                    Err(error) => app.apply(Msg::DraftFailed { conversation, request, error }),
                }
            }
            WorkerMsg::Restarted { conversation, request } => app.apply(Msg::DraftRestarted { conversation, request }),
            WorkerMsg::DrafterReady { label } => {
                app.info.drafter = label;
                Vec::new()
            }
            WorkerMsg::Fault { worker, message } => {
                tracing::error!(worker, "{message}");
                app.say(format!("⚠ {message}"));
                Vec::new()
            }
            WorkerMsg::KbReloaded { articles } => {
                app.info.kb_articles = articles;
                app.say(format!("Knowledge base changed: re-indexed ({articles} articles)."));
                Vec::new()
            }
            WorkerMsg::History { customer, conversations } => {
                details::history_arrived(app, &customer, conversations);
                Vec::new()
            }
            WorkerMsg::StoreError(e) => {
                app.say(format!("Saving failed: {e}"));
                Vec::new()
            }
        };
        self.perform(app, fx);
        if let Some((conversation, request, unsupported)) = warnings {
            self.workers.store(StoreOp::Warnings(conversation, request, unsupported));
        }
    }
}

/// Supervisors' decisions become reducer messages; coaching notes are shown to the agent.
fn review_updates(
    app: &mut App,
    decided: Vec<crate::store::Approval>,
    notes: Vec<crate::store::CoachingNote>,
) -> Vec<Effect> {
    let mut fx = Vec::new();
    for a in decided {
        let approved = (a.state == crate::store::ApprovalState::Approved).then(|| a.final_text.unwrap_or(a.text));
        app.say(if approved.is_some() {
            format!("A supervisor approved your reply in {}: sent.", a.conversation)
        } else {
            format!("A supervisor returned your reply in {}: {}", a.conversation, a.note)
        });
        fx.extend(app.apply(Msg::ApprovalDecided { conversation: a.conversation, approved, note: a.note, at: now() }));
    }
    for n in notes {
        app.say(format!("Coaching from {}: {}", n.supervisor, n.text));
    }
    fx
}

/// The console's event loop over any ratatui backend and any source of terminal events, so tests
/// drive the real loop on `TestBackend`. `observe` sees the app after every drawn frame. Returns
/// when the agent quits or the event source ends.
pub async fn event_loop<B, E>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    shell: &mut Shell,
    mut worker_rx: tokio::sync::mpsc::UnboundedReceiver<WorkerMsg>,
    mut events: E,
    observe: &mut dyn FnMut(&App, &Terminal<B>),
) -> Result<()>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
    E: futures_util::Stream<Item = std::io::Result<Event>> + Unpin,
{
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut frame = tokio::time::interval(Duration::from_millis(16));
    frame.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut dirty = true;
    let mut first_frame_logged = false;
    let mut last_review_poll = 0;
    // What the clock changes on screen (waiting times, an expiring status message): a tick
    // redraws only when this moved, so an idle console draws nothing.
    let mut shown_time = app.time_key(now());
    if let Ok(size) = terminal.size() {
        app.size = ratatui::layout::Rect::new(0, 0, size.width, size.height);
    }
    while !app.quit {
        tokio::select! {
            ev = events.next() => {
                match ev {
                    Some(Ok(Event::Key(key))) => { let fx = app.on_key(key); shell.perform(app, fx); }
                    Some(Ok(Event::Paste(text))) => { let fx = app.on_paste(&text); shell.perform(app, fx); }
                    Some(Ok(Event::Mouse(m))) => { let fx = app.on_mouse(m); shell.perform(app, fx); }
                    Some(Ok(Event::Resize(w, h))) => app.size = ratatui::layout::Rect::new(0, 0, w, h),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(e.into()),
                    None => break,
                }
                dirty = true;
            }
            Some(msg) = worker_rx.recv() => {
                shell.on_worker(app, msg);
                // Tokens arrive faster than a screen needs: take everything queued at once.
                while let Ok(msg) = worker_rx.try_recv() {
                    shell.on_worker(app, msg);
                }
                dirty = true;
            }
            _ = tick.tick() => {
                let t = now();
                let arrived = shell.channel.poll(t);
                dirty |= !arrived.is_empty();
                for ev in arrived {
                    shell.on_channel(app, ev);
                }
                let fx = app.tick(t);
                shell.perform(app, fx);
                if t - last_review_poll >= 2000 {
                    // Supervisors' decisions and coaching notes arrive through the store.
                    shell.workers.store(StoreOp::PollReview);
                    last_review_poll = t;
                }
                let time = app.time_key(t);
                dirty |= time != shown_time;
                shown_time = time;
            }
            _ = frame.tick(), if dirty => {
                let t = std::time::Instant::now();
                terminal.draw(|f| render::render(app, f))?;
                app.frames += 1;
                if !first_frame_logged {
                    let since_start = crate::util::STARTED.get().map(|s| s.elapsed().as_secs_f64() * 1e3);
                    tracing::info!(since_start_ms = since_start, render_ms = t.elapsed().as_secs_f64() * 1e3, "first frame drawn");
                    first_frame_logged = true;
                }
                dirty = false;
                observe(app, terminal);
            }
        }
    }
    Ok(())
}
